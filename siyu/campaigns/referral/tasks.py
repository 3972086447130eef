"""What the referral programme runs in the background, registered on import.

Handlers (idempotent, see ``commissions``): ``order.paid`` freezes commissions,
``order.refunded`` reverses them pro rata, ``order.finalised`` schedules the
``referral.settle`` job for the order. The job settles one final order; without an
order id it sweeps every final order still holding frozen commissions and schedules
its next daily run. Importing ``binding`` plugs the ``referral.attribute`` placement
hook into checkout; the live counters are registered with the campaign registry.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.campaigns.referral import binding, commissions, counters, share_codes
from siyu.campaigns.registry import counters as registry_counters
from siyu.core import clock, jobs
from siyu.core.outbox import DomainEvent, handler
from siyu.models.campaign import CampaignKind
from siyu.orders import events

__all__ = ["binding", "share_codes"]


@handler(events.ORDER_PAID, name="referral.order_paid")
def on_order_paid(session: Session, event: DomainEvent) -> None:
    commissions.on_paid(session, event.payload)


@handler(events.ORDER_REFUNDED, name="referral.order_refunded")
def on_order_refunded(session: Session, event: DomainEvent) -> None:
    commissions.on_refunded(session, event.payload)


@handler(events.ORDER_FINALISED, name="referral.order_finalised")
def on_order_finalised(session: Session, event: DomainEvent) -> None:
    order_id = int(event.payload["order_id"])
    jobs.enqueue(
        session,
        commissions.SETTLE_TASK,
        {"order_id": order_id},
        idempotency_key=f"{commissions.SETTLE_TASK}:{order_id}",
    )


def schedule_sweep(session: Session) -> None:
    """The daily sweep, once per day (the idempotency key names the day)."""
    at = clock.now() + timedelta(days=1)
    jobs.enqueue(
        session,
        commissions.SETTLE_TASK,
        {},
        run_at=at,
        idempotency_key=f"{commissions.SETTLE_TASK}:sweep:{at.date().isoformat()}",
    )


@jobs.task(commissions.SETTLE_TASK)
def settle(session: Session, payload: dict[str, Any]) -> None:
    if payload.get("order_id") is not None:
        commissions.settle_order(session, int(payload["order_id"]))
        return
    commissions.settle_due(session)
    schedule_sweep(session)


registry_counters.register(CampaignKind.REFERRAL, counters.for_campaigns)
