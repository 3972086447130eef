"""Helpers of the console's orders tests: the routers mounted in front of
the "arrives with issue 4" page, a cast of staff, and orders placed and paid through
the services (delivery and pick-up)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.settings import Settings
from siyu.models.order import Fulfilment, Order, OrderTransition
from siyu.models.payment import NotificationOutcome, Refund
from siyu.models.staff import AuditLog, Role, Staff
from siyu.orders import checkout
from tests.customers.factories import make_cipher, make_customer
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.orders.factories import Shelf, make_shelf, order_items, pay, place_order
from tests.web.console_helpers import sign_in


@dataclass
class World:
    shelf: Shelf
    admin: Staff
    operator: Staff
    analyst: Staff
    integration: Staff
    guide: Staff
    other_guide: Staff
    customer_id: int
    paid: Order  # delivery, 2 × sku0 + 1 × sku1, the guide's, at the store
    pending: Order  # delivery, awaiting payment, the other guide's
    pickup: Order  # paid, to be picked up at the store


def make_world(session: Session, settings: Settings) -> World:
    """Staff of every relevant role, and three orders placed through the services."""
    cipher = make_cipher()
    shelf = make_shelf(session)
    guide = make_staff(session, username="guide-a", roles=[Role.GUIDE])
    other_guide = make_staff(session, username="guide-b", roles=[Role.GUIDE])
    guide.display_name = "导购小王"
    customer = make_customer(session, cipher, name="张三")

    def order(
        guide_id: int, *pairs: tuple[int, int], fulfilment: Fulfilment = Fulfilment.DELIVERY
    ) -> Order:
        placed, _lines = place_order(
            session,
            cipher,
            settings,
            customer_id=customer.id,
            items=order_items(*((shelf.skus[index], quantity) for index, quantity in pairs)),
            fulfilment=fulfilment,
            pickup_store_id=shelf.store.id if fulfilment == Fulfilment.PICKUP else None,
            attribution=checkout.Attribution(
                touchpoint="mp", guide_id=guide_id, store_id=shelf.store.id
            ),
        )
        return placed

    paid = order(guide.id, (0, 2), (1, 1))
    assert pay(session, settings, paid) == NotificationOutcome.APPLIED
    pending = order(other_guide.id, (1, 1))
    pickup = order(guide.id, (1, 1), fulfilment=Fulfilment.PICKUP)
    assert pay(session, settings, pickup) == NotificationOutcome.APPLIED
    session.flush()
    return World(
        shelf=shelf,
        admin=make_staff(session, username="boss", roles=[Role.ADMIN]),
        operator=make_staff(session, username="ops", roles=[Role.OPERATOR]),
        analyst=make_staff(session, username="numbers", roles=[Role.ANALYST]),
        integration=make_staff(session, username="robot", roles=[Role.INTEGRATION]),
        guide=guide,
        other_guide=other_guide,
        customer_id=customer.id,
        paid=paid,
        pending=pending,
        pickup=pickup,
    )


def sign_in_as(client: TestClient, staff: Staff) -> str:
    client.cookies.clear()  # sign the previous user out
    return sign_in(client, staff.username, DEFAULT_PASSWORD)


def status_of(session: Session, order: Order) -> str:
    session.expire_all()
    value = session.scalar(select(Order.status).where(Order.id == order.id))
    assert value is not None
    return value


def audit_rows(session: Session, action: str) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).where(AuditLog.action == action)))


def refund_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Refund)) or 0


def transition_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(OrderTransition)) or 0


def shown_orders(html: str) -> list[str]:
    return re.findall(r'<tr data-order-id="([^"]+)"', html)
