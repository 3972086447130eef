"""What group buy runs in the background, registered on import (``siyu.campaigns.tasks``).

Jobs: ``group_buy.expire`` (one per group, at its deadline) and ``group_buy.sweep``
(every 5 minutes while any group is pending or open: concludes what a missed or
failed deadline job left). Handlers on ``order.paid`` / ``order.cancelled`` /
``order.refunded`` (idempotent: each moves a member by a conditional UPDATE). The ship
guard that holds the orders of an unfilled group, and the registry's counters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from siyu.campaigns.group_buy import participation, reads, settlement
from siyu.campaigns.registry import counters
from siyu.core import jobs, outbox
from siyu.models.campaign import CampaignKind
from siyu.orders import events, lifecycle

__all__ = ["participation"]


@jobs.task(settlement.EXPIRE_TASK, max_attempts=8)
def expire_group(session: Session, payload: dict[str, Any]) -> None:
    settlement.conclude(session, int(payload["group_id"]))


@jobs.task(settlement.SWEEP_TASK, max_attempts=3)
def sweep_groups(session: Session, _payload: dict[str, Any]) -> None:
    concluded = settlement.sweep(session)
    if concluded >= settlement.SWEEP_BATCH:
        jobs.enqueue(session, settlement.SWEEP_TASK, {})
    if settlement.has_unsettled_groups(session):
        settlement.ensure_sweep(session)


@outbox.handler(events.ORDER_PAID, name="group_buy.order_paid")
def on_order_paid(session: Session, event: outbox.DomainEvent) -> None:
    settlement.on_paid(session, int(event.payload["order_id"]))


@outbox.handler(events.ORDER_CANCELLED, name="group_buy.order_cancelled")
def on_order_cancelled(session: Session, event: outbox.DomainEvent) -> None:
    settlement.on_cancelled(session, int(event.payload["order_id"]))


@outbox.handler(events.ORDER_REFUNDED, name="group_buy.order_refunded")
def on_order_refunded(session: Session, event: outbox.DomainEvent) -> None:
    settlement.on_refunded(
        session, int(event.payload["order_id"]), is_full=bool(event.payload.get("is_full"))
    )


lifecycle.register_ship_guard("group_buy", settlement.ship_guard)
counters.register(CampaignKind.GROUP_BUY, reads.counters)
