"""Checkout: from items (or the cart) to an order with frozen prices and reserved stock.

One transaction (the request's): price → write the order and its lines → reserve
stock → record the transition and ``order.created`` → schedule the payment deadline.
If any step fails (an item went off sale, the last unit was taken), the whole order
is rolled back: no order without its stock, no stock held without an order.

Which store's prices apply (千店千面): the pick-up store for pick-up orders, the
order's store for store-channel orders (a guide selling after closing time), none for
mall delivery orders — those use the SKU's sale price.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.catalog import prices, stock
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.base import new_public_id
from siyu.models.catalog import SalesChannel
from siyu.models.customer import Customer
from siyu.models.order import Fulfilment, Order, OrderLine, OrderSource, OrderStatus
from siyu.models.order import OrderTransition as Transition
from siyu.orders import events, lifecycle
from siyu.orders.errors import EmptyOrder, InvalidCheckout, InvalidQuantity
from siyu.orders.pricing import pipeline

MAX_LINES = 50
ADDRESS_CONTEXT = "order.address"

# Run after the order and its lines are written, in the same transaction: the members
# and coupons domains redeem here what their pricing steps priced (a coupon marked
# used, points spent). A hook that raises rolls the whole order back, so an order never
# exists with a discount whose coupon or points were not taken.
PlacementHook = Callable[[Session, Order, list[OrderLine], pipeline.PricingResult], None]
_placement_hooks: dict[str, PlacementHook] = {}


def register_placement_hook(name: str, hook: PlacementHook) -> None:
    if name in _placement_hooks:
        raise ValueError(f"placement hook {name!r} is already registered")
    _placement_hooks[name] = hook


@dataclass(frozen=True)
class ItemInput:
    sku_id: int
    quantity: int


@dataclass(frozen=True)
class Attribution:
    """Where the order came from; copied onto the order for analytics and commissions."""

    touchpoint: str | None = None
    channel_code_id: int | None = None
    guide_id: int | None = None
    campaign_id: int | None = None
    referrer_customer_id: int | None = None
    store_id: int | None = None


@dataclass(frozen=True)
class CheckoutInput:
    items: list[ItemInput]
    fulfilment: Fulfilment = Fulfilment.DELIVERY
    sales_channel: SalesChannel = SalesChannel.MALL
    pickup_store_id: int | None = None
    # {"recipient", "phone", "region", "detail"}: validated by the schema layer.
    address: dict[str, str] | None = None
    note: str = ""
    # For later pipeline steps: {"coupon_code": …, "points": …}.
    options: dict[str, Any] = field(default_factory=dict)
    attribution: Attribution = field(default_factory=Attribution)


def _merged_items(items: list[ItemInput]) -> list[ItemInput]:
    if not items:
        raise EmptyOrder()
    totals: dict[int, int] = {}
    for item in items:
        if item.quantity <= 0:
            raise InvalidQuantity(data={"sku_id": item.sku_id, "quantity": item.quantity})
        totals[item.sku_id] = totals.get(item.sku_id, 0) + item.quantity
    if len(totals) > MAX_LINES:
        raise InvalidCheckout(
            f"At most {MAX_LINES} different items per order.", data={"field": "items"}
        )
    # Keep the buyer's order of first appearance for line numbers.
    seen: list[int] = []
    for item in items:
        if item.sku_id not in seen:
            seen.append(item.sku_id)
    return [ItemInput(sku_id, totals[sku_id]) for sku_id in seen]


def _price_store(session: Session, checkout: CheckoutInput) -> int | None:
    if checkout.fulfilment == Fulfilment.PICKUP:
        if checkout.pickup_store_id is None:
            raise InvalidCheckout(
                "Choose a store to pick up from.", data={"field": "pickup_store_id"}
            )
        prices.active_store(session, checkout.pickup_store_id, for_pickup=True)
        return checkout.pickup_store_id
    if checkout.sales_channel == SalesChannel.STORE:
        store_id = checkout.attribution.store_id
        if store_id is None:
            raise InvalidCheckout("A store order needs its store.", data={"field": "store_id"})
        prices.active_store(session, store_id)
        return store_id
    return None


def build_context(
    session: Session, customer_id: int | None, checkout: CheckoutInput, settings: Settings
) -> pipeline.PricingContext:
    items = _merged_items(checkout.items)
    if checkout.fulfilment == Fulfilment.DELIVERY and checkout.pickup_store_id is not None:
        raise InvalidCheckout(
            "A delivery order has no pick-up store.", data={"field": "pickup_store_id"}
        )
    if checkout.attribution.store_id is not None and checkout.sales_channel == SalesChannel.MALL:
        prices.active_store(session, checkout.attribution.store_id)
    store_id = _price_store(session, checkout)
    sellable = prices.sellable_skus(
        session, [item.sku_id for item in items], channel=checkout.sales_channel, store_id=store_id
    )
    lines = []
    for line_no, item in enumerate(items, start=1):
        sku = sellable[item.sku_id]
        if item.quantity > sku.per_order_limit:
            raise InvalidQuantity(
                data={
                    "sku_id": item.sku_id,
                    "quantity": item.quantity,
                    "per_order_limit": sku.per_order_limit,
                }
            )
        lines.append(pipeline.PricingLine(line_no=line_no, sku=sku, quantity=item.quantity))
    return pipeline.PricingContext(
        customer_id=customer_id,
        channel=checkout.sales_channel,
        store_id=store_id,
        fulfilment=checkout.fulfilment,
        lines=lines,
        shipping_fee=settings.shipping_fee,
        free_shipping_threshold=settings.free_shipping_threshold,
        options=dict(checkout.options),
    )


def quote(
    session: Session, customer_id: int | None, checkout: CheckoutInput, settings: Settings
) -> pipeline.PricingResult:
    """The price breakdown the order would get, without writing anything."""
    return pipeline.run(session, build_context(session, customer_id, checkout, settings))


def _attribution_for(session: Session, customer_id: int, given: Attribution) -> Attribution:
    """The request's own attribution wins; gaps are filled from the customer's record
    (last touch, their guide and store), so an order is never unattributed when the
    customer is not."""
    if given.referrer_customer_id == customer_id:
        raise InvalidCheckout(
            "A customer cannot refer themselves.", data={"field": "referrer_customer_id"}
        )
    customer = session.get(Customer, customer_id)
    if customer is None:
        return given
    return Attribution(
        touchpoint=given.touchpoint or customer.last_touchpoint,
        channel_code_id=given.channel_code_id or customer.last_touch_channel_code_id,
        guide_id=given.guide_id or customer.guide_id,
        campaign_id=given.campaign_id,
        referrer_customer_id=given.referrer_customer_id,
        store_id=given.store_id or customer.store_id,
    )


def _reserve(
    session: Session, order: Order, lines: list[OrderLine], checkout: CheckoutInput
) -> None:
    """Reserve each line's stock: at the pick-up store, or for delivery at the best
    shipping location of each SKU (``stock.reserve_for_delivery``)."""
    actor = f"order:{order.public_id}"
    if checkout.fulfilment == Fulfilment.PICKUP:
        assert checkout.pickup_store_id is not None
        for line in lines:
            line.location_id = checkout.pickup_store_id
        stock.reserve(
            session,
            [
                stock.StockItem(line.sku_id or 0, checkout.pickup_store_id, line.quantity)
                for line in lines
            ],
            order_id=order.id,
            actor=actor,
        )
        return
    wanted = {line.sku_id: line.quantity for line in lines if line.sku_id is not None}
    locations = stock.reserve_for_delivery(session, wanted, order_id=order.id, actor=actor)
    for line in lines:
        if line.sku_id is not None:
            line.location_id = locations[line.sku_id]


def place_order(
    session: Session,
    cipher: PiiCipher,
    customer_id: int,
    checkout: CheckoutInput,
    settings: Settings,
    *,
    actor: str = "customer",
) -> tuple[Order, list[OrderLine]]:
    if checkout.fulfilment == Fulfilment.DELIVERY and not checkout.address:
        raise InvalidCheckout("A delivery order needs an address.", data={"field": "address"})
    result = quote(session, customer_id, checkout, settings)
    attribution = _attribution_for(session, customer_id, checkout.attribution)
    now = clock.now()
    order = Order(
        public_id=new_public_id("ord"),
        customer_id=customer_id,
        status=OrderStatus.PENDING_PAYMENT,
        source=OrderSource.MALL
        if checkout.sales_channel == SalesChannel.MALL
        else OrderSource.STORE,
        sales_channel=checkout.sales_channel.value,
        fulfilment=checkout.fulfilment.value,
        pickup_location_id=checkout.pickup_store_id,
        items_amount=result.items_amount,
        discount_amount=result.discount_amount,
        shipping_amount=result.shipping_amount,
        total_amount=result.total_amount,
        item_count=sum(line.quantity for line in result.lines),
        pricing_steps=result.steps,
        touchpoint=attribution.touchpoint,
        channel_code_id=attribution.channel_code_id,
        guide_id=attribution.guide_id,
        campaign_id=attribution.campaign_id,
        referrer_customer_id=attribution.referrer_customer_id,
        store_id=attribution.store_id,
        shipping_address_encrypted=(
            cipher.encrypt(
                json.dumps(checkout.address, ensure_ascii=False), context=ADDRESS_CONTEXT
            )
            if checkout.address and checkout.fulfilment == Fulfilment.DELIVERY
            else None
        ),
        customer_note=checkout.note[:200],
        payment_deadline=now + timedelta(minutes=settings.order_payment_minutes),
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    lines = [
        OrderLine(
            order_id=order.id,
            line_no=priced.line_no,
            sku_id=priced.sku.sku_id,
            product_id=priced.sku.product_id,
            category_id=priced.sku.category_id,
            product_name=priced.sku.product_name,
            sku_code=priced.sku.sku_code,
            specs=priced.sku.specs,
            image=priced.sku.image,
            quantity=priced.quantity,
            unit_list_price=priced.sku.list_price,
            unit_price=priced.sku.unit_price,
            base_amount=priced.base_amount,
            discount_amount=priced.discount_amount,
            shipping_amount=priced.shipping_amount,
            payable_amount=priced.payable_amount,
            price_breakdown=priced.breakdown,
        )
        for priced in result.lines
    ]
    _reserve(session, order, lines, checkout)
    session.add_all(lines)
    session.add(
        Transition(
            order_id=order.id,
            from_status=None,
            to_status=OrderStatus.PENDING_PAYMENT.value,
            actor=actor[:64],
            reason="checkout",
            created_at=now,
        )
    )
    session.flush()
    for hook in _placement_hooks.values():
        hook(session, order, lines, result)
    events.emit_order_event(session, events.ORDER_CREATED, order, lines, actor=actor)
    lifecycle.schedule_expiry(session, order, first=True)
    return order, lines


def decrypt_address(cipher: PiiCipher, order: Order) -> dict[str, str] | None:
    if not order.shipping_address_encrypted:
        return None
    data: dict[str, str] = json.loads(
        cipher.decrypt(order.shipping_address_encrypted, context=ADDRESS_CONTEXT)
    )
    return data
