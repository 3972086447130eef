"""What the audiences phase needs to know about the demo brand, read once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.models.catalog import Category, Product, ProductStatus
from siyu.models.customer import Customer, CustomerIdentity, CustomerStatus, IdentityKind
from siyu.models.order import Order

LIPSTICK = "口红"


@dataclass(frozen=True)
class DemoPeople:
    customer_ids: list[int]  # active customers, by id
    store_customers: frozenset[int]  # customers who belong to a store
    unionids: dict[int, str]  # customer id → unionid (plain: not personal data)
    recent_buyers: frozenset[int]  # paid an order in the last 7 days
    lipstick_products: list[int]  # active 口红 products


def load(session: Session, *, now: datetime) -> DemoPeople:
    customers = session.execute(
        select(Customer.id, Customer.store_id)
        .where(Customer.status == CustomerStatus.ACTIVE)
        .order_by(Customer.id)
    ).all()
    unionids = dict(
        session.execute(
            select(CustomerIdentity.customer_id, CustomerIdentity.value).where(
                CustomerIdentity.kind == IdentityKind.UNIONID,
                CustomerIdentity.value.is_not(None),
            )
        ).all()
    )
    recent = session.scalars(
        select(Order.customer_id).where(Order.paid_at >= now - timedelta(days=7)).distinct()
    )
    lipstick = session.scalars(
        select(Product.id)
        .join(Category, Category.id == Product.category_id)
        .where(Category.name == LIPSTICK, Product.status == ProductStatus.ON_SALE)
        .order_by(Product.id)
    )
    return DemoPeople(
        customer_ids=[row.id for row in customers],
        store_customers=frozenset(row.id for row in customers if row.store_id is not None),
        unionids={int(key): str(value) for key, value in unionids.items()},
        recent_buyers=frozenset(recent),
        lipstick_products=list(lipstick),
    )
