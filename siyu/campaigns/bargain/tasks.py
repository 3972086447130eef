"""What the bargain mechanic registers at start-up: its live counters, its placement
hook, and its reactions to order events (idempotent: conditional UPDATEs on status)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from siyu.campaigns import pricing
from siyu.campaigns.bargain import bargains, service
from siyu.campaigns.bargain import merge as _merge  # noqa: F401  (registers the re-pointers)
from siyu.campaigns.registry import counters
from siyu.core.outbox import DomainEvent, handler
from siyu.models.campaign import CampaignKind
from siyu.orders import events

counters.register(CampaignKind.BARGAIN, service.counters)
pricing.register_placed(CampaignKind.BARGAIN, bargains.on_placed)


def _campaign_order(payload: dict[str, Any]) -> int | None:
    """The order id when the order came through a campaign (cheap filter first)."""
    if not payload.get("campaign_id"):
        return None
    return int(payload["order_id"])


@handler(events.ORDER_PAID, name="bargain.order_paid")
def on_order_paid(session: Session, event: DomainEvent) -> None:
    order_id = _campaign_order(event.payload)
    if order_id is not None:
        bargains.mark_purchased(session, order_id, event.occurred_at)


@handler(events.ORDER_CANCELLED, name="bargain.order_cancelled")
def on_order_cancelled(session: Session, event: DomainEvent) -> None:
    order_id = _campaign_order(event.payload)
    if order_id is not None:
        bargains.release_order(session, order_id)
