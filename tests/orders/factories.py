"""Order factories: a sellable catalog with stock, checkout, payment (keyword-only)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.catalog import SalesChannel, Sku
from siyu.models.location import Location, LocationKind
from siyu.models.order import Fulfilment, Order, OrderLine, OrderStatus
from siyu.models.payment import NotificationOutcome, Payment
from siyu.orders import checkout
from siyu.orders.payments import service as payment_service
from siyu.orders.payments.sandbox import SandboxProvider
from tests.catalog.factories import make_location, make_product, make_sku, put_stock
from tests.customers.factories import TEST_SECRET_KEY

ADDRESS = {
    "recipient": "张三",
    "phone": "13812345678",
    "region": "上海市 徐汇区",
    "detail": "漕溪北路 1 号",
}


@dataclass
class Shelf:
    """A warehouse that ships mall orders and a store that takes pick-ups, with SKUs."""

    warehouse: Location
    store: Location
    skus: list[Sku]


def make_shelf(
    session: Session,
    *,
    prices: tuple[int, ...] = (12900, 5900),
    warehouse_stock: int = 100,
    store_stock: int = 10,
) -> Shelf:
    warehouse = make_location(
        session, name="华东仓", kind=LocationKind.WAREHOUSE, accepts_pickup=False, ships_online=True
    )
    store = make_location(session, name="静安店", latitude=31.22, longitude=121.45)
    product = make_product(session, name="丝绒口红")
    skus = []
    for price in prices:
        sku = make_sku(session, product=product, list_price=price + 2000, sale_price=price)
        if warehouse_stock:
            put_stock(session, sku=sku, location=warehouse, quantity=warehouse_stock)
        if store_stock:
            put_stock(session, sku=sku, location=store, quantity=store_stock)
        skus.append(sku)
    return Shelf(warehouse, store, skus)


def order_items(*pairs: tuple[Sku, int]) -> list[checkout.ItemInput]:
    return [checkout.ItemInput(sku.id, quantity) for sku, quantity in pairs]


def place_order(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    *,
    customer_id: int,
    items: list[checkout.ItemInput],
    fulfilment: Fulfilment = Fulfilment.DELIVERY,
    pickup_store_id: int | None = None,
    sales_channel: SalesChannel = SalesChannel.MALL,
    attribution: checkout.Attribution | None = None,
) -> tuple[Order, list[OrderLine]]:
    request = checkout.CheckoutInput(
        items=items,
        fulfilment=fulfilment,
        sales_channel=sales_channel,
        pickup_store_id=pickup_store_id,
        address=dict(ADDRESS) if fulfilment == Fulfilment.DELIVERY else None,
        attribution=attribution or checkout.Attribution(touchpoint="mp"),
    )
    return checkout.place_order(session, cipher, customer_id, request, settings)


def sandbox() -> SandboxProvider:
    return SandboxProvider(TEST_SECRET_KEY)


def pay(
    session: Session,
    settings: Settings,
    order: Order,
    *,
    amount: int | None = None,
    notification_id: str | None = None,
) -> NotificationOutcome:
    """Pay ``order`` through the sandbox provider, as its notification would; an order
    no longer waiting gets the notification for its latest payment (a repeat)."""
    if order.status == OrderStatus.PENDING_PAYMENT:
        pending = payment_service.open_payment(
            session, order, provider="sandbox", settings=settings
        )
        out_trade_no, due = pending.request.out_trade_no, pending.request.amount
    else:
        payment = session.scalars(
            select(Payment).where(Payment.order_id == order.id).order_by(Payment.id.desc())
        ).first()
        assert payment is not None
        out_trade_no, due = payment.public_id, payment.amount
    provider = sandbox()
    headers, body = provider.notification(
        out_trade_no=out_trade_no,
        amount=due if amount is None else amount,
        notification_id=notification_id,
    )
    return payment_service.apply_notice(session, provider.parse_notification(headers, body))
