"""Coupon factories (keyword-only): templates straight into the table, coupons through
``issuing.issue``, checkouts that name a coupon."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.coupons import issuing
from siyu.coupons import tasks as _tasks  # noqa: F401  (step, hook and handlers)
from siyu.customers import sessions
from siyu.models.base import new_public_id
from siyu.models.catalog import SalesChannel
from siyu.models.coupon import (
    Coupon,
    CouponKind,
    CouponScope,
    CouponSource,
    CouponTally,
    CouponTemplate,
    TemplateStatus,
    ValidityKind,
)
from siyu.models.order import Fulfilment, Order, OrderLine
from siyu.models.outbox import OutboxEvent
from siyu.orders import checkout
from tests.orders.factories import ADDRESS

_sequence = itertools.count(1)


def make_template(
    session: Session,
    *,
    kind: CouponKind = CouponKind.THRESHOLD,
    threshold_amount: int = 20000,
    discount_amount: int = 3000,
    discount_rate: int | None = None,
    max_discount_amount: int | None = None,
    gift_sku_id: int | None = None,
    scope: CouponScope = CouponScope.ALL,
    scope_ids: list[int] | None = None,
    channels: list[str] | None = None,
    validity: ValidityKind = ValidityKind.FIXED,
    valid_days: int | None = None,
    valid_until: datetime | None = None,
    total_quantity: int | None = None,
    per_customer_limit: int | None = None,
    per_day_limit: int | None = None,
    in_coupon_centre: bool = True,
    min_tier_rank: int | None = None,
    allow_on_campaign_price: bool = False,
    stackable_with: list[str] | None = None,
    status: TemplateStatus = TemplateStatus.ACTIVE,
    claim_starts_at: datetime | None = None,
    claim_ends_at: datetime | None = None,
) -> CouponTemplate:
    now = clock.now()
    fixed = validity == ValidityKind.FIXED
    template = CouponTemplate(
        public_id=new_public_id("cpt"),
        name=f"券{next(_sequence)}",
        description="",
        kind=kind.value,
        threshold_amount=threshold_amount,
        discount_amount=discount_amount,
        discount_rate=discount_rate,
        max_discount_amount=max_discount_amount,
        gift_sku_id=gift_sku_id,
        scope=scope.value,
        scope_ids=scope_ids or [],
        channels=channels or ["mall", "store"],
        validity=validity.value,
        valid_from=now - timedelta(days=1) if fixed else None,
        valid_until=(valid_until or now + timedelta(days=30)) if fixed else None,
        valid_days=None if fixed else (valid_days or 7),
        claim_starts_at=claim_starts_at,
        claim_ends_at=claim_ends_at,
        total_quantity=total_quantity,
        issued_count=0,
        per_customer_limit=per_customer_limit,
        per_day_limit=per_day_limit,
        in_coupon_centre=in_coupon_centre,
        min_tier_rank=min_tier_rank,
        allow_on_campaign_price=allow_on_campaign_price,
        stackable_with=stackable_with or [],
        status=status.value,
        created_by="test",
        created_at=now,
        updated_at=now,
    )
    session.add(template)
    session.flush()
    return template


def give(
    session: Session,
    template: CouponTemplate,
    customer_id: int,
    *,
    source: CouponSource = CouponSource.GRANT,
) -> Coupon:
    return issuing.issue(session, template.id, customer_id, source=source)


def checkout_input(
    *items: tuple[int, int],
    coupon_code: str | None = None,
    options: dict[str, Any] | None = None,
    fulfilment: Fulfilment = Fulfilment.DELIVERY,
    pickup_store_id: int | None = None,
    sales_channel: SalesChannel = SalesChannel.MALL,
    store_id: int | None = None,
) -> checkout.CheckoutInput:
    merged = dict(options or {})
    if coupon_code:
        merged["coupon_code"] = coupon_code
    return checkout.CheckoutInput(
        items=[checkout.ItemInput(sku_id, quantity) for sku_id, quantity in items],
        fulfilment=fulfilment,
        sales_channel=sales_channel,
        pickup_store_id=pickup_store_id,
        address=dict(ADDRESS) if fulfilment == Fulfilment.DELIVERY else None,
        options=merged,
        attribution=checkout.Attribution(touchpoint="mp", store_id=store_id),
    )


def buy(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    *,
    customer_id: int,
    items: list[tuple[int, int]],
    coupon_code: str | None = None,
) -> tuple[Order, list[OrderLine]]:
    return checkout.place_order(
        session, cipher, customer_id, checkout_input(*items, coupon_code=coupon_code), settings
    )


def shop_headers(session: Session, customer_id: int) -> dict[str, str]:
    raw, _record = sessions.create_session(session, customer_id=customer_id, touchpoint="mp")
    return {sessions.TOKEN_HEADER: raw}


def count(session: Session, model: type[Any]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def snapshot(session: Session) -> tuple[int, int, int, list[tuple[int, int, int]]]:
    """Coupons, tallies, outbox events and every template's issued count: what a refused
    request must leave exactly as it was."""
    session.expire_all()
    return (
        count(session, Coupon),
        count(session, CouponTally),
        count(session, OutboxEvent),
        [
            (row.id, row.issued_count, len(row.status))
            for row in session.scalars(select(CouponTemplate).order_by(CouponTemplate.id))
        ],
    )


def deliver(session: Session, event_name: str) -> int:
    """Run the coupons domain's handlers for every ``event_name`` event in the outbox,
    inside the test's transaction (as the dispatcher would, minus the bookkeeping)."""
    from siyu.core import outbox

    handlers = {
        name: function
        for name, function in outbox.default_registry().handlers_for(event_name).items()
        if name.startswith("coupons.")
    }
    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.name == event_name).order_by(OutboxEvent.id)
    ).all()
    for row in rows:
        event = outbox.DomainEvent(row.event_id, row.name, row.payload, row.occurred_at)
        for function in handlers.values():
            function(session, event)
    return len(rows)


def events_named(session: Session, event_name: str) -> list[dict[str, Any]]:
    return [
        row.payload
        for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.name == event_name).order_by(OutboxEvent.id)
        )
    ]
