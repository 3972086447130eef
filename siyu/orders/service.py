"""Use cases behind the orders routes: requests in, orders out.

Routes parse and authorize; this module turns a checkout request (items or the cart,
share-link context) into ``checkout`` inputs, and keeps the cart in step with what
was ordered.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.posters import share
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.core.settings import current as current_settings
from siyu.models.catalog import SalesChannel
from siyu.models.channel_code import ChannelCode
from siyu.models.customer import Customer, CustomerStatus
from siyu.models.order import Order, OrderLine
from siyu.orders import cart, checkout
from siyu.orders.errors import EmptyOrder, InvalidCheckout
from siyu.orders.pricing.pipeline import PricingResult
from siyu.orders.schemas import CheckoutIn


def _channel_code_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    found = session.scalar(
        select(ChannelCode.id).where(ChannelCode.code == code, ChannelCode.is_active.is_(True))
    )
    if found is None:
        raise InvalidCheckout("Unknown channel code.", data={"field": "channel_code"})
    return found


def _referrer(session: Session, referrer_id: int | None) -> int | None:
    if referrer_id is None:
        return None
    status = session.scalar(select(Customer.status).where(Customer.id == referrer_id))
    if status != CustomerStatus.ACTIVE:
        raise InvalidCheckout("Unknown referrer.", data={"field": "referrer_customer_id"})
    return referrer_id


def _referrer_by_code(session: Session, customer_id: int, code: str | None) -> int | None:
    if code is None:
        return None
    referrer_id = share.referrer_of(session, current_settings().resolved_secret_key(), code)
    if referrer_id is None or referrer_id == customer_id:
        return None
    status = session.scalar(select(Customer.status).where(Customer.id == referrer_id))
    return referrer_id if status == CustomerStatus.ACTIVE else None


def checkout_input(
    session: Session,
    customer_id: int,
    body: CheckoutIn,
    *,
    touchpoint: str | None,
    sales_channel: SalesChannel = SalesChannel.MALL,
    guide_id: int | None = None,
) -> checkout.CheckoutInput:
    if body.from_cart:
        if body.items:
            raise InvalidCheckout("Send items or from_cart, not both.", data={"field": "from_cart"})
        items = [
            checkout.ItemInput(line.sku_id, line.quantity)
            for line in cart.lines(session, customer_id)
            if line.is_selected
        ]
        if not items:
            raise EmptyOrder("No items are selected in the cart.")
    else:
        items = [checkout.ItemInput(item.sku_id, item.quantity) for item in body.items]
    return checkout.CheckoutInput(
        items=items,
        fulfilment=body.fulfilment,
        sales_channel=sales_channel,
        pickup_store_id=body.pickup_store_id,
        address=body.address.model_dump() if body.address else None,
        note=body.note,
        options={
            **body.options,
            **({"coupon_code": body.coupon_code} if body.coupon_code else {}),
            **({"points": body.points} if body.points else {}),
        },
        attribution=checkout.Attribution(
            touchpoint=touchpoint,
            channel_code_id=_channel_code_id(session, body.channel_code),
            guide_id=guide_id,
            campaign_id=body.campaign_id,
            referrer_customer_id=_referrer(session, body.referrer_customer_id)
            or _referrer_by_code(session, customer_id, body.ref),
            store_id=body.store_id,
        ),
    )


def preview(
    session: Session, customer_id: int, body: CheckoutIn, settings: Settings, *, touchpoint: str
) -> PricingResult:
    request = checkout_input(session, customer_id, body, touchpoint=touchpoint)
    return checkout.quote(session, customer_id, request, settings)


def place(
    session: Session,
    cipher: PiiCipher,
    customer_id: int,
    body: CheckoutIn,
    settings: Settings,
    *,
    touchpoint: str | None,
    actor: str = "customer",
    sales_channel: SalesChannel = SalesChannel.MALL,
    guide_id: int | None = None,
) -> tuple[Order, list[OrderLine]]:
    request = checkout_input(
        session,
        customer_id,
        body,
        touchpoint=touchpoint,
        sales_channel=sales_channel,
        guide_id=guide_id,
    )
    order, lines = checkout.place_order(
        session, cipher, customer_id, request, settings, actor=actor
    )
    if body.from_cart:
        cart.clear_ordered(session, customer_id, [item.sku_id for item in request.items])
    return order, lines
