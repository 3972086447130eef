"""Flash-sale factories and helpers (keyword-only, typed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.flash_sale import service
from siyu.campaigns.flash_sale.engines import ReserveRequest
from siyu.campaigns.flash_sale.schemas import FlashSaleIn, ItemIn, SessionIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core import clock
from siyu.models.base import new_public_id
from siyu.models.campaign import Campaign, LifecycleStage
from siyu.models.flash_sale import (
    FlashSaleItem,
    FlashSaleReservation,
    FlashSaleSession,
    FlashSaleTally,
)
from siyu.staff.principal import command_line_principal
from tests.orders.factories import ADDRESS, Shelf, make_shelf

__all__ = ["ADDRESS"]


@dataclass
class Sale:
    campaign: Campaign
    session: FlashSaleSession
    item: FlashSaleItem
    shelf: Shelf


def campaign_fields(*, starts_at: datetime, ends_at: datetime) -> CampaignFields:
    return CampaignFields(
        name="双11 秒杀",
        lifecycle_stage=LifecycleStage.CONVERT,
        warmup_at=starts_at - timedelta(hours=1),
        starts_at=starts_at,
        ends_at=ends_at,
    )


def make_sale(
    session: Session,
    *,
    stock: int = 10,
    limit: int = 1,
    price: int = 990,
    starts_in: timedelta = timedelta(minutes=-10),
    lasts: timedelta = timedelta(hours=1),
    engine: str | None = "database",
    publish: bool = True,
    warehouse_stock: int = 5000,
    customer_rate_limit: int = 1000,
    ip_rate_limit: int = 1_000_000,
) -> Sale:
    shelf = make_shelf(session, prices=(5900,), warehouse_stock=warehouse_stock, store_stock=0)
    starts_at = clock.now() + starts_in
    ends_at = starts_at + lasts
    campaign = service.create(
        session,
        command_line_principal("test"),
        FlashSaleIn(
            campaign=campaign_fields(starts_at=starts_at, ends_at=ends_at),
            sessions=[
                SessionIn(
                    name="20:00 场",
                    starts_at=starts_at,
                    ends_at=ends_at,
                    customer_rate_limit=customer_rate_limit,
                    ip_rate_limit=ip_rate_limit,
                    items=[
                        ItemIn(
                            sku_id=shelf.skus[0].id,
                            campaign_price=price,
                            starting_stock=stock,
                            per_customer_limit=limit,
                        )
                    ],
                )
            ],
            publish=publish,
        ),
        redis_url="redis://x" if engine == "redis" else None,
    )
    row = service.sessions_of(session, [campaign.id])[0]
    if not publish:
        row.stock_engine = None
    item = service.items_of(session, [row.id])[0]
    session.flush()
    return Sale(campaign, row, item, shelf)


def request_for(sale: Sale, customer_id: int, *, quantity: int = 1) -> ReserveRequest:
    return ReserveRequest(
        public_id=new_public_id("fsr"),
        campaign_id=sale.campaign.id,
        session_id=sale.session.id,
        item_id=sale.item.id,
        customer_id=customer_id,
        quantity=quantity,
        unit_price=sale.item.campaign_price,
        per_customer_limit=sale.item.per_customer_limit,
        engine=sale.session.stock_engine or "database",
        reserved_at=clock.now().isoformat(),
    )


def reservations(session: Session, item_id: int) -> list[FlashSaleReservation]:
    return list(
        session.scalars(
            select(FlashSaleReservation)
            .where(FlashSaleReservation.item_id == item_id)
            .order_by(FlashSaleReservation.id)
        )
    )


def tally(session: Session, item_id: int, customer_id: int) -> int:
    value = session.scalar(
        select(FlashSaleTally.quantity).where(
            FlashSaleTally.item_id == item_id, FlashSaleTally.customer_id == customer_id
        )
    )
    return int(value or 0)


def stock_left(session: Session, item_id: int) -> int:
    value = session.scalar(select(FlashSaleItem.stock_left).where(FlashSaleItem.id == item_id))
    return int(value or 0)


def count_reservations(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(FlashSaleReservation)) or 0)


def deliver(session: Session) -> int:
    """Run the flash sale's handlers on every order event recorded so far (they are
    idempotent, so running one twice is part of what is tested)."""
    from siyu.core import outbox
    from siyu.models.outbox import OutboxEvent

    rows = session.scalars(
        select(OutboxEvent).where(OutboxEvent.name.like("order.%")).order_by(OutboxEvent.id)
    ).all()
    for row in rows:
        event = outbox.DomainEvent(row.event_id, row.name, row.payload, row.occurred_at)
        for name, function in outbox.default_registry().handlers_for(row.name).items():
            if name.startswith("flash_sale."):
                function(session, event)
    return len(rows)
