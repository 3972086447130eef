"""Rows written straight through the models: the exporter only reads tables."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.models.catalog import Category, Product
from siyu.models.coupon import Coupon, CouponTemplate
from siyu.models.customer import Customer, CustomerIdentity, CustomerStaffLink
from siyu.models.member import Membership, MemberTier, PointsEntry
from siyu.models.order import Order, OrderLine
from siyu.models.tracking import TrackedEvent

_sequence = itertools.count(1)


def make_customer(session: Session, *, at: datetime, city: str | None = None) -> Customer:
    customer = Customer(city=city, created_at=at, updated_at=at)
    session.add(customer)
    session.flush()
    return customer


def make_identity(
    session: Session, customer: Customer, *, kind: str, at: datetime, value: str = "v"
) -> CustomerIdentity:
    number = next(_sequence)
    identity = CustomerIdentity(
        customer_id=customer.id,
        kind=kind,
        namespace="ns",
        lookup_key=f"{value}-{number}",
        value=f"{value}-{number}",
        created_at=at,
        last_seen_at=at,
    )
    session.add(identity)
    session.flush()
    return identity


def make_event(
    session: Session,
    customer: Customer,
    *,
    occurred_at: datetime,
    received_at: datetime | None = None,
    type: str = "product_view",
    properties: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> TrackedEvent:
    event = TrackedEvent(
        event_id=f"ev-{next(_sequence)}",
        customer_id=customer.id,
        type=type,
        occurred_at=occurred_at,
        # Arrival is now (the exporter's cursor on PostgreSQL), whatever the event's time.
        received_at=received_at or clock.now(),
        touchpoint="mp",
        properties=properties or {},
        context=context or {},
    )
    session.add(event)
    session.flush()
    return event


def make_catalog(session: Session, *, at: datetime) -> tuple[Category, Product]:
    category = Category(name=f"口红{next(_sequence)}", created_at=at, updated_at=at)
    session.add(category)
    session.flush()
    product = Product(
        code=f"P{next(_sequence)}",
        name="丝绒口红",
        category_id=category.id,
        created_at=at,
        updated_at=at,
    )
    session.add(product)
    session.flush()
    return category, product


def make_order(
    session: Session,
    customer: Customer,
    *,
    at: datetime,
    total: int = 10000,
    product: Product | None = None,
) -> Order:
    order = Order(
        public_id=f"o_{next(_sequence)}",
        customer_id=customer.id,
        status="paid",
        items_amount=total,
        total_amount=total,
        paid_amount=total,
        item_count=1,
        created_at=at,
        updated_at=at,
        paid_at=at,
    )
    session.add(order)
    session.flush()
    session.add(
        OrderLine(
            order_id=order.id,
            line_no=1,
            product_id=product.id if product else None,
            category_id=product.category_id if product else None,
            product_name="丝绒口红",
            quantity=1,
            unit_list_price=total,
            unit_price=total,
            base_amount=total,
            payable_amount=total,
        )
    )
    session.flush()
    return order


def make_tier(session: Session, *, at: datetime, rank: int = 1) -> MemberTier:
    tier = MemberTier(
        code=f"t{next(_sequence)}",
        name="金卡",
        rank=rank,
        growth_threshold=rank * 1000,
        created_at=at,
        updated_at=at,
    )
    session.add(tier)
    session.flush()
    return tier


def make_membership(
    session: Session, customer: Customer, tier: MemberTier, *, at: datetime
) -> Membership:
    membership = Membership(
        customer_id=customer.id, tier_id=tier.id, joined_at=at, created_at=at, updated_at=at
    )
    session.add(membership)
    session.flush()
    return membership


def make_coupon(session: Session, customer: Customer, *, at: datetime) -> Coupon:
    template = CouponTemplate(
        public_id=f"ct_{next(_sequence)}",
        name="满100减10",
        kind="threshold",
        created_at=at,
        updated_at=at,
    )
    session.add(template)
    session.flush()
    coupon = Coupon(
        code=f"C{next(_sequence)}",
        template_id=template.id,
        customer_id=customer.id,
        source="claim",
        valid_from=at,
        valid_until=at.replace(year=at.year + 1),
        claimed_at=at,
    )
    session.add(coupon)
    session.flush()
    return coupon


def make_points(
    session: Session, customer: Customer, *, at: datetime, amount: int = 100
) -> PointsEntry:
    entry = PointsEntry(
        customer_id=customer.id,
        kind="earn",
        amount=amount,
        remaining=amount,
        reference=f"ref-{next(_sequence)}",
        created_at=at,
    )
    session.add(entry)
    session.flush()
    return entry


def make_staff_link(
    session: Session, customer: Customer, staff_id: int, *, at: datetime
) -> CustomerStaffLink:
    link = CustomerStaffLink(customer_id=customer.id, staff_id=staff_id, added_at=at)
    session.add(link)
    session.flush()
    return link
