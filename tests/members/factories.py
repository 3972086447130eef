"""Members factories: a tier ladder, members with points, event delivery (keyword-only)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock, outbox
from siyu.core.crypto import PiiCipher
from siyu.members import memberships, points, program
from siyu.models.member import GrowthEntry, MemberProgram, Membership, MemberTier, PointsEntry
from siyu.models.outbox import OutboxEvent
from tests.customers.factories import make_customer

# (code, name, rank, threshold, discount_rate, points_multiplier)
LADDER = (
    ("normal", "普通会员", 0, 0, 10000, 100),
    ("silver", "银卡", 1, 1000, 9800, 120),
    ("gold", "金卡", 2, 5000, 9500, 150),
    ("black", "黑金", 3, 20000, 9000, 200),
)
_DELIVERED = "tests.members.delivered"


def make_ladder(session: Session) -> dict[str, MemberTier]:
    now = clock.now()
    tiers = {}
    for code, name, rank, threshold, rate, multiplier in LADDER:
        tier = MemberTier(
            code=code,
            name=name,
            name_en=code.title(),
            rank=rank,
            growth_threshold=threshold,
            discount_rate=rate,
            points_multiplier=multiplier,
            created_at=now,
            updated_at=now,
        )
        session.add(tier)
        tiers[code] = tier
    session.flush()
    return tiers


def make_member(
    session: Session, cipher: PiiCipher, *, points_balance: int = 0, name: str | None = None
) -> int:
    customer = make_customer(session, cipher, name=name)
    memberships.ensure(session, customer.id)
    if points_balance:
        points.earn(session, customer.id, points_balance, reference="seed", reason="seed")
    return customer.id


def set_program(session: Session, **values: Any) -> program.ProgramConfig:
    config = program.ProgramConfig.model_validate(
        {**program.ProgramConfig().model_dump(mode="json"), **values}
    )
    row = session.get(MemberProgram, program.PROGRAM_ID)
    document = config.model_dump(mode="json")
    if row is None:
        session.add(MemberProgram(id=program.PROGRAM_ID, config=document, updated_at=clock.now()))
    else:
        row.config = document
    session.flush()
    session.info.pop("siyu.members.program", None)
    return config


def deliver(session: Session, *names: str) -> int:
    """Run every registered handler on the recorded ``names`` events not yet delivered
    by this helper (in order), as the dispatcher would."""
    done: set[str] = session.info.setdefault(_DELIVERED, set())
    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.name.in_(names)).order_by(OutboxEvent.id)
    ).all()
    count = 0
    for row in rows:
        if row.event_id in done:
            continue
        done.add(row.event_id)
        event = outbox.DomainEvent(row.event_id, row.name, row.payload, row.occurred_at)
        for name, function in outbox.default_registry().handlers_for(row.name).items():
            if name.startswith("members."):
                function(session, event)
        count += 1
    return count


def payloads(session: Session, name: str) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.name == name).order_by(OutboxEvent.id)
    )
    return [row.payload for row in rows]


def membership(session: Session, customer_id: int) -> Membership:
    found = session.get(Membership, customer_id, populate_existing=True)
    assert found is not None
    return found


def ledger(session: Session, customer_id: int) -> list[tuple[str, str, int, int]]:
    """(kind, status, amount, remaining) oldest first."""
    rows = session.execute(
        select(PointsEntry.kind, PointsEntry.status, PointsEntry.amount, PointsEntry.remaining)
        .where(PointsEntry.customer_id == customer_id)
        .order_by(PointsEntry.id)
    )
    return [tuple(row) for row in rows]  # type: ignore[misc]


def entry_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(PointsEntry)) or 0


def growth_sum(session: Session, customer_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(GrowthEntry.amount), 0)).where(
                GrowthEntry.customer_id == customer_id
            )
        )
        or 0
    )


def checkout_with_points(
    session: Session,
    cipher: PiiCipher,
    settings: Any,
    *,
    customer_id: int,
    sku: Any,
    quantity: int = 1,
    spend: int = 0,
) -> tuple[Any, list[Any]]:
    from siyu.orders import checkout
    from tests.orders.factories import ADDRESS

    request = checkout.CheckoutInput(
        items=[checkout.ItemInput(sku.id, quantity)],
        address=dict(ADDRESS),
        options={"points": spend} if spend else {},
        attribution=checkout.Attribution(touchpoint="mp"),
    )
    return checkout.place_order(session, cipher, customer_id, request, settings)
