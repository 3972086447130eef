"""Factories and fixtures for the benefits and points-mall tests (keyword-only, typed)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu import handlers
from siyu.core import clock, outbox
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings, install
from siyu.members import memberships, points, program
from siyu.members import points_mall_pricing as _pricing  # noqa: F401  (registers the step)
from siyu.models.base import new_public_id
from siyu.models.coupon import CouponKind, CouponTemplate, TemplateStatus, ValidityKind
from siyu.models.customer import Customer
from siyu.models.member import (
    MemberProgram,
    Membership,
    PointsMallItem,
    PointsMallItemKind,
    PointsMallTally,
)
from siyu.models.outbox import OutboxEvent
from tests.customers.factories import make_cipher, make_customer

# Services enqueue other domains' jobs (a new membership schedules its tier review):
# every task must be registered, as in the worker.
handlers.load_all()
importlib.import_module("siyu.members.tasks")


@pytest.fixture
def cipher() -> PiiCipher:
    return make_cipher()


@pytest.fixture
def settings(test_settings: Settings) -> Iterator[Settings]:
    """The test settings, installed for services and jobs that read ``settings.current()``."""
    install(test_settings)
    yield test_settings
    install(None)


def make_member(
    session: Session,
    cipher: PiiCipher,
    *,
    points_balance: int = 0,
    timezone: str = "Asia/Shanghai",
    birthday: date | None = None,
    joined_at: datetime | None = None,
) -> Customer:
    customer = make_customer(session, cipher)
    customer.birthday = birthday
    memberships.ensure(session, customer.id)
    values: dict[str, Any] = {"timezone": timezone}
    if joined_at is not None:
        values["joined_at"] = joined_at
    session.execute(
        update(Membership).where(Membership.customer_id == customer.id).values(**values)
    )
    if points_balance:
        points.earn(session, customer.id, points_balance, reference="test:seed", reason="seed")
    session.flush()
    return customer


def set_program(session: Session, **sections: dict[str, Any]) -> None:
    """Store a program document with ``sections`` overriding the defaults."""
    document = program.ProgramConfig().model_dump(mode="json")
    for name, values in sections.items():
        document[name] = {**document[name], **values}
    row = session.get(MemberProgram, 1)
    if row is None:
        session.add(MemberProgram(id=1, config=document, updated_at=clock.now()))
    else:
        row.config = document
    session.flush()
    # program.current caches the rules per transaction.
    session.info.pop("siyu.members.program", None)


def make_template(
    session: Session, *, total_quantity: int | None = None, name: str = "无门槛 10 元"
) -> CouponTemplate:
    template = CouponTemplate(
        public_id=new_public_id("ct"),
        name=name,
        kind=CouponKind.NO_THRESHOLD.value,
        discount_amount=1000,
        validity=ValidityKind.RELATIVE.value,
        valid_days=30,
        total_quantity=total_quantity,
        status=TemplateStatus.ACTIVE.value,
    )
    session.add(template)
    session.flush()
    return template


def make_item(
    session: Session,
    *,
    kind: PointsMallItemKind = PointsMallItemKind.COUPON,
    sku_id: int | None = None,
    coupon_template_id: int | None = None,
    points_price: int = 100,
    cash_price: int = 0,
    stock: int = 10,
    per_member_limit: int | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    min_tier_rank: int | None = None,
    status: str = "active",
    name: str = "积分好礼",
) -> PointsMallItem:
    item = PointsMallItem(
        public_id=new_public_id("pmi"),
        kind=kind.value,
        name=name,
        sku_id=sku_id,
        coupon_template_id=coupon_template_id,
        points_price=points_price,
        cash_price=cash_price,
        stock_total=stock,
        stock_left=stock,
        per_member_limit=per_member_limit,
        valid_from=valid_from,
        valid_until=valid_until,
        min_tier_rank=min_tier_rank,
        status=status,
    )
    session.add(item)
    session.flush()
    return item


def tally(session: Session, item_id: int, customer_id: int) -> int:
    return (
        session.scalar(
            select(PointsMallTally.exchanged).where(
                PointsMallTally.item_id == item_id, PointsMallTally.customer_id == customer_id
            )
        )
        or 0
    )


def available_points(session: Session, customer_id: int) -> int:
    return points.balance(session, customer_id)[0]


def deliver(session: Session, name: str, function: outbox.HandlerFunction) -> int:
    """Run ``function`` on every recorded ``name`` event, as the dispatcher would."""
    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.name == name).order_by(OutboxEvent.id)
    ).all()
    for row in rows:
        function(
            session,
            outbox.DomainEvent(row.event_id, row.name, row.payload, row.occurred_at),
        )
    return len(rows)


def event_payloads(session: Session, name: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(OutboxEvent).where(OutboxEvent.name == name)).all()
    return [row.payload for row in rows]
