"""Referral test helpers (keyword-only, typed): a live programme made through the
service, promoters, orders placed and paid through checkout and the sandbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.referral import binding, programme, promoters
from siyu.campaigns.referral import tasks as referral_tasks
from siyu.campaigns.referral.schemas import ApplyIn, ProgrammeIn, ProgrammeSettings, RuleIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core import clock, outbox
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.models.campaign import Campaign, LifecycleStage
from siyu.models.catalog import Sku
from siyu.models.order import Order, OrderLine
from siyu.models.outbox import OutboxEvent
from siyu.models.payment import Refund
from siyu.models.referral import Promoter, PromoterLedger
from siyu.orders import checkout, lifecycle, refunds
from siyu.staff.principal import command_line_principal
from tests.customers.factories import make_customer
from tests.orders.factories import pay, sandbox

ADDRESS = {"recipient": "张三", "phone": "13800000000", "region": "上海市", "detail": "南京西路1号"}
ACTOR = command_line_principal("test")


def make_programme(
    session: Session,
    *,
    level1: int = 1000,
    level2: int = 200,
    starts_in: timedelta = timedelta(hours=-1),
    lasts: timedelta = timedelta(days=30),
    publish: bool = True,
    **settings: Any,
) -> Campaign:
    now = clock.now()
    body = ProgrammeIn(
        campaign=CampaignFields(
            name="全民分销",
            lifecycle_stage=LifecycleStage.REFER,
            starts_at=now + starts_in,
            ends_at=now + starts_in + lasts,
        ),
        settings=ProgrammeSettings(**{"auto_approve": True, **settings}),
        default_rule=RuleIn(level1_value=level1, level2_value=level2),
        publish=publish,
    )
    return programme.create(session, ACTOR, body)


def make_promoter(
    session: Session, cipher: PiiCipher, *, parent: Promoter | None = None
) -> Promoter:
    customer = make_customer(session, cipher)
    return promoters.apply(
        session,
        customer.id,
        ApplyIn(invite_code=parent.code if parent else None, display_name=f"推广员{customer.id}"),
    )


def buy(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    *,
    customer_id: int,
    items: list[tuple[Sku, int]],
    paid: bool = True,
) -> tuple[Order, list[OrderLine]]:
    order, lines = checkout.place_order(
        session,
        cipher,
        customer_id,
        checkout.CheckoutInput(
            items=[checkout.ItemInput(sku.id, quantity) for sku, quantity in items],
            address=ADDRESS,
        ),
        settings,
    )
    if paid:
        pay(session, settings, order)
        session.refresh(order)
        deliver(session)
    return order, lines


def bound_buyer(session: Session, cipher: PiiCipher, promoter: Promoter) -> int:
    customer = make_customer(session, cipher)
    binding.bind(session, customer.id, promoter.code)
    return customer.id


_HANDLERS = {
    "order.paid": referral_tasks.on_order_paid,
    "order.refunded": referral_tasks.on_order_refunded,
    "order.finalised": referral_tasks.on_order_finalised,
}
_DELIVERED = "tests.referral.delivered"


def deliver(session: Session) -> int:
    """Run the referral handlers on recorded order events not yet delivered here."""
    done: set[int] = session.info.setdefault(_DELIVERED, set())
    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.name.in_(_HANDLERS)).order_by(OutboxEvent.id)
    ).all()
    count = 0
    for row in rows:
        if row.id in done:
            continue
        done.add(row.id)
        _HANDLERS[row.name](
            session, outbox.DomainEvent(row.event_id, row.name, row.payload, row.occurred_at)
        )
        count += 1
    return count


def redeliver_all(session: Session) -> None:
    """Every referral event once more, as an at-least-once dispatcher may."""
    session.info.pop(_DELIVERED, None)
    deliver(session)


def refund(session: Session, order: Order, line: OrderLine | None, quantity: int = 1) -> Refund:
    items = None if line is None else [refunds.RefundItem(line.line_no, quantity)]
    request = refunds.request_refund(
        session, order, items=items, reason="不要了", requested_by="customer"
    )
    refunds.approve(session, request, actor="staff:ops")
    submission = refunds.prepare_submission(session, request.id)
    assert submission is not None
    refunds.record_submission(session, submission, sandbox().refund(submission.request))
    session.refresh(order)
    deliver(session)
    return request


def finalise(session: Session, settings: Settings, order: Order) -> None:
    lifecycle.ship(
        session, order, actor="staff", carrier="SF", tracking_number="SF1", settings=settings
    )
    lifecycle.confirm_receipt(session, order, actor="customer", settings=settings)
    assert lifecycle.finalise(session, order, actor="system")
    deliver(session)


def balances(session: Session, promoter: Promoter) -> tuple[int, int, int, int]:
    session.refresh(promoter)
    return (
        promoter.frozen_amount,
        promoter.withdrawable_amount,
        promoter.withdrawing_amount,
        promoter.withdrawn_amount,
    )


def ledger_sums(session: Session, promoter: Promoter) -> tuple[int, int, int, int]:
    rows = session.scalars(
        select(PromoterLedger).where(PromoterLedger.promoter_id == promoter.id)
    ).all()
    return (
        sum(row.frozen_delta for row in rows),
        sum(row.withdrawable_delta for row in rows),
        sum(row.withdrawing_delta for row in rows),
        sum(row.withdrawn_delta for row in rows),
    )
