"""Commissions: computed per order line when the order is paid, frozen until the
order is final, settled by the ``referral.settle`` job, reversed pro rata on refunds.

Exactly once, whatever the redeliveries:

- a commission is an insert-or-nothing on ``(order_line_id, level)``;
- each account movement has its own ledger reference (``commission:<id>``,
  ``reverse:<id>:<refund id>``, ``settle:<id>``), inserted before the balances move
  (``accounts.move``), so a second delivery moves nothing;
- the commission rows of a refunded line are locked (``FOR UPDATE``) before their
  reversal is computed, so two refund events handled at once by two workers add up
  instead of overwriting each other.

Pro rata: after refunds totalling R of a line's payable amount B, a commission A is
reversed by ⌊A × R / B⌋ in all, and entirely once R = B — computed cumulatively, so
rounding never drifts over several partial refunds.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.referral import accounts, rules
from siyu.campaigns.referral.accounts import Deltas
from siyu.core import clock
from siyu.core.db import dialect_insert
from siyu.models.order import Order
from siyu.models.referral import (
    Commission,
    CommissionStatus,
    LedgerKind,
    Promoter,
    PromoterStatus,
    ReferralAttribution,
)

SETTLE_TASK = "referral.settle"
SWEEP_LIMIT = 500


def _active(session: Session, promoter_id: int | None) -> bool:
    if promoter_id is None:
        return False
    status = session.scalar(select(Promoter.status).where(Promoter.id == promoter_id))
    return status == PromoterStatus.ACTIVE


def on_paid(session: Session, payload: dict[str, Any]) -> int:
    """Freeze the commissions of a paid, attributed order; how many were created."""
    order_id = int(payload["order_id"])
    attribution = session.get(ReferralAttribution, order_id)
    if attribution is None:
        return 0
    levels = [(1, attribution.promoter_id)]
    if attribution.parent_promoter_id is not None:
        levels.append((2, attribution.parent_promoter_id))
    levels = [(level, promoter) for level, promoter in levels if _active(session, promoter)]
    book = rules.book(session, attribution.campaign_id)
    created = 0
    now = clock.now()
    for line in payload.get("lines") or []:
        rule = book.for_line(line.get("product_id"), line.get("category_id"))
        if rule is None:
            continue
        payable, quantity = int(line["payable_amount"]), int(line["quantity"])
        left = payable
        for level, promoter_id in levels:
            amount = min(rules.amount_for(rule, level, payable, quantity), left)
            if amount <= 0:
                continue
            left -= amount
            inserted = session.execute(
                dialect_insert(session, Commission)
                .values(
                    campaign_id=attribution.campaign_id,
                    order_id=order_id,
                    order_line_id=int(line["line_id"]),
                    promoter_id=promoter_id,
                    customer_id=attribution.customer_id,
                    level=level,
                    base_amount=payable,
                    amount=amount,
                    rule=rules.describe(rule, level),
                    status=CommissionStatus.FROZEN.value,
                    created_at=now,
                )
                .on_conflict_do_nothing(index_elements=["order_line_id", "level"])
                .returning(Commission.id)
            ).first()
            if inserted is None:
                continue  # a redelivery: this line's commission exists
            commission_id = int(inserted[0])
            accounts.move(
                session,
                promoter_id,
                LedgerKind.COMMISSION,
                f"commission:{commission_id}",
                Deltas(frozen=amount),
                commission_id=commission_id,
            )
            created += 1
    return created


def _reversed_total(commission: Commission, refunded_base: int) -> int:
    if refunded_base >= commission.base_amount:
        return commission.amount
    return commission.amount * refunded_base // commission.base_amount


def on_refunded(session: Session, payload: dict[str, Any]) -> int:
    """Reverse the refunded lines' frozen commissions pro rata; fen reversed."""
    refund_id = int(payload["refund_id"])
    total = 0
    for refund_line in payload.get("refund_lines") or []:
        amount = int(refund_line.get("amount") or 0)
        if amount <= 0:
            continue
        # Locked in id order: two refund events of one order never interleave here.
        commissions = session.scalars(
            select(Commission)
            .where(Commission.order_line_id == int(refund_line["line_id"]))
            .order_by(Commission.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
        for commission in commissions:
            if commission.status != CommissionStatus.FROZEN:
                continue  # settled only after the return window: no refund can follow
            refunded = min(commission.base_amount, commission.refunded_base_amount + amount)
            reversal = _reversed_total(commission, refunded) - commission.reversed_amount
            moved = accounts.move(
                session,
                commission.promoter_id,
                LedgerKind.REVERSE,
                f"reverse:{commission.id}:{refund_id}",
                Deltas(frozen=-reversal),
                commission_id=commission.id,
            )
            if not moved:
                continue  # this refund was handled already
            commission.refunded_base_amount = refunded
            commission.reversed_amount += reversal
            if commission.reversed_amount == commission.amount:
                commission.status = CommissionStatus.REVERSED.value
            total += reversal
    session.flush()
    return total


def settle_order(session: Session, order_id: int) -> int:
    """Settle a final order's frozen commissions (frozen → withdrawable); fen settled."""
    final_at = session.scalar(select(Order.final_at).where(Order.id == order_id))
    if final_at is None:
        return 0  # not final yet: the return window is still open
    commissions = session.scalars(
        select(Commission)
        .where(Commission.order_id == order_id, Commission.status == CommissionStatus.FROZEN)
        .order_by(Commission.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    settled = 0
    now = clock.now()
    for commission in commissions:
        remaining = commission.amount - commission.reversed_amount
        if remaining > 0:
            accounts.move(
                session,
                commission.promoter_id,
                LedgerKind.SETTLE,
                f"settle:{commission.id}",
                Deltas(frozen=-remaining, withdrawable=remaining),
                commission_id=commission.id,
            )
            settled += remaining
        commission.status = (
            CommissionStatus.SETTLED if remaining > 0 else CommissionStatus.REVERSED
        ).value
        commission.settled_at = now
    session.flush()
    return settled


def settle_due(session: Session, *, limit: int = SWEEP_LIMIT) -> int:
    """The sweep: settle every final order that still has frozen commissions (catches
    a settle job lost with a restored backup, or orders finalised before a deploy)."""
    order_ids = session.scalars(
        select(Commission.order_id)
        .join(Order, Order.id == Commission.order_id)
        .where(Commission.status == CommissionStatus.FROZEN, Order.final_at.is_not(None))
        .distinct()
        .limit(limit)
    ).all()
    return sum(settle_order(session, order_id) for order_id in order_ids)


def for_promoter(session: Session, promoter_id: int, *, limit: int = 100) -> list[Commission]:
    return list(
        session.scalars(
            select(Commission)
            .where(Commission.promoter_id == promoter_id)
            .order_by(Commission.created_at.desc(), Commission.id.desc())
            .limit(limit)
        )
    )


def list_commissions(
    session: Session,
    *,
    campaign_id: int | None = None,
    status: CommissionStatus | None = None,
    limit: int = 200,
) -> list[Commission]:
    statement = select(Commission).order_by(Commission.created_at.desc(), Commission.id.desc())
    if campaign_id is not None:
        statement = statement.where(Commission.campaign_id == campaign_id)
    if status is not None:
        statement = statement.where(Commission.status == status.value)
    return list(session.scalars(statement.limit(limit)))


def order_public_ids(session: Session, order_ids: set[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    rows = session.execute(select(Order.id, Order.public_id).where(Order.id.in_(order_ids)))
    return {row.id: row.public_id for row in rows}
