"""Set up flash sales: a campaign with sessions (场次) and their items; read them back.

A flash sale is created in one transaction with its registry row
(``registry.service.create``). Sessions sit inside the campaign's live window;
their items (SKU, campaign price, campaign stock, per-customer limit) can change
only until the session starts. The stock engine is fixed when the session is
published (or, when the campaign was published through the registry's generic
route, at its first sale): Redis when ``SIYU_REDIS_URL`` is set, else the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from siyu.campaigns.flash_sale.errors import (
    InvalidFlashSale,
    SessionEnded,
    SessionLocked,
    SessionNotFound,
    SessionNotStarted,
)
from siyu.campaigns.flash_sale.schemas import FlashSaleIn, ItemIn, SessionIn, SessionUpdate
from siyu.campaigns.registry import phases
from siyu.campaigns.registry import service as registry
from siyu.catalog import prices
from siyu.catalog.errors import SkuUnavailable
from siyu.core import clock, jobs
from siyu.models.base import new_public_id
from siyu.models.campaign import Campaign, CampaignKind, CampaignStatus
from siyu.models.catalog import Product, SalesChannel, Sku
from siyu.models.flash_sale import (
    HOLDING,
    FlashSaleItem,
    FlashSaleReservation,
    FlashSaleSession,
    ReservationStatus,
    StockEngine,
)
from siyu.models.order import Order
from siyu.staff import audit
from siyu.staff.principal import Principal

KIND = CampaignKind.FLASH_SALE
AUDIT_TARGET = "flash_sale_session"
# The job that drains Redis and writes orders for a session (``tasks.sweep``).
SWEEP_TASK = "flash_sale.sweep"


class SessionPhase(StrEnum):
    UPCOMING = "upcoming"  # countdown (warm-up)
    LIVE = "live"
    ENDED = "ended"


def engine_for(redis_url: str | None) -> StockEngine:
    return StockEngine.REDIS if redis_url else StockEngine.DATABASE


def session_phase(row: FlashSaleSession, at: datetime | None = None) -> SessionPhase:
    now = at or clock.now()
    if now < row.starts_at:
        return SessionPhase.UPCOMING
    return SessionPhase.LIVE if now < row.ends_at else SessionPhase.ENDED


def require_session_live(campaign: Campaign, row: FlashSaleSession) -> None:
    """The campaign takes entries now (its phase) and so does this session."""
    phases.require_live(campaign)
    phase = session_phase(row)
    data = {
        "session": row.public_id,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
    }
    if phase == SessionPhase.UPCOMING:
        raise SessionNotStarted(data=data)
    if phase == SessionPhase.ENDED:
        raise SessionEnded(data=data)


def _check_session(campaign: Campaign, body: SessionIn | SessionUpdate, index: int) -> None:
    starts, ends = body.starts_at, body.ends_at
    assert starts is not None
    assert ends is not None
    field = f"sessions[{index}]"
    if starts.tzinfo is None or ends.tzinfo is None:
        raise InvalidFlashSale("Times need a time zone.", data={"field": field})
    if ends <= starts:
        raise InvalidFlashSale("A session ends after it starts.", data={"field": field})
    if starts < campaign.starts_at or ends > campaign.ends_at:
        raise InvalidFlashSale(
            "A session runs inside the campaign's live window.", data={"field": field}
        )


def _check_items(session: Session, items: Sequence[ItemIn]) -> None:
    sku_ids = [item.sku_id for item in items]
    if len(set(sku_ids)) != len(sku_ids):
        raise InvalidFlashSale("A SKU appears twice in a session.", data={"field": "items"})
    try:
        sellable = prices.sellable_skus(session, sku_ids, channel=SalesChannel.MALL)
    except SkuUnavailable as error:
        raise InvalidFlashSale(
            "A SKU is not sold in the mall.",
            data={"field": "items", "sku_id": error.data.get("sku_id")},
        ) from error
    for item in items:
        if item.campaign_price > sellable[item.sku_id].unit_price:
            raise InvalidFlashSale(
                "The campaign price is above the SKU's price.",
                data={"field": "items", "sku_id": item.sku_id},
            )


def _add_items(
    session: Session, campaign: Campaign, row: FlashSaleSession, items: Sequence[ItemIn]
) -> None:
    now = clock.now()
    session.add_all(
        FlashSaleItem(
            public_id=new_public_id("fsi"),
            session_id=row.id,
            campaign_id=campaign.id,
            sku_id=item.sku_id,
            campaign_price=item.campaign_price,
            starting_stock=item.starting_stock,
            stock_left=item.starting_stock,
            per_customer_limit=item.per_customer_limit,
            sort=item.sort,
            created_at=now,
            updated_at=now,
        )
        for item in items
    )
    session.flush()


def create(
    session: Session, actor: Principal, body: FlashSaleIn, *, redis_url: str | None = None
) -> Campaign:
    """The campaign, its sessions and items, in the caller's transaction."""
    campaign = registry.create(session, actor, KIND, body.campaign, publish=body.publish)
    for index, spec in enumerate(body.sessions):
        _check_session(campaign, spec, index)
        _check_items(session, spec.items)
        row = FlashSaleSession(
            public_id=new_public_id("fss"),
            campaign_id=campaign.id,
            name=spec.name,
            starts_at=spec.starts_at,
            ends_at=spec.ends_at,
            customer_rate_limit=spec.customer_rate_limit,
            ip_rate_limit=spec.ip_rate_limit,
            stock_engine=engine_for(redis_url).value if body.publish else None,
        )
        session.add(row)
        session.flush()
        _add_items(session, campaign, row, spec.items)
    if body.publish:
        schedule_sweeps(session, campaign.id)
    audit.record(
        session,
        actor,
        "flash_sale.created",
        target_type="campaign",
        target_id=campaign.id,
        detail={"sessions": len(body.sessions)},
    )
    return campaign


def sessions_of(session: Session, campaign_ids: Sequence[int]) -> list[FlashSaleSession]:
    if not campaign_ids:
        return []
    return list(
        session.scalars(
            select(FlashSaleSession)
            .where(FlashSaleSession.campaign_id.in_(campaign_ids))
            .order_by(FlashSaleSession.starts_at, FlashSaleSession.id)
        )
    )


def items_of(session: Session, session_ids: Sequence[int]) -> list[FlashSaleItem]:
    if not session_ids:
        return []
    return list(
        session.scalars(
            select(FlashSaleItem)
            .where(FlashSaleItem.session_id.in_(session_ids))
            .order_by(FlashSaleItem.sort.desc(), FlashSaleItem.id)
            # Stock moves by statements outside the ORM: always read the row afresh.
            .execution_options(populate_existing=True)
        )
    )


def get_session(session: Session, public_id: str) -> FlashSaleSession:
    row = session.scalars(
        select(FlashSaleSession).where(FlashSaleSession.public_id == public_id)
    ).first()
    if row is None:
        raise SessionNotFound(data={"session": public_id})
    return row


def update_session(
    session: Session, actor: Principal, row: FlashSaleSession, body: SessionUpdate
) -> None:
    """Only before the session starts: what buyers were shown must not move under them."""
    if session_phase(row) != SessionPhase.UPCOMING:
        raise SessionLocked(data={"session": row.public_id})
    campaign = registry.get(session, row.campaign_id, kind=KIND)
    changes = body.model_dump(exclude_unset=True, exclude={"items"})
    merged = SessionUpdate(
        starts_at=changes.get("starts_at", row.starts_at),
        ends_at=changes.get("ends_at", row.ends_at),
    )
    _check_session(campaign, merged, 0)
    if merged.starts_at is not None and merged.starts_at <= clock.now():
        raise InvalidFlashSale(
            "A session cannot be moved into the past.", data={"field": "starts_at"}
        )
    for key, value in changes.items():
        if value is None:
            raise InvalidFlashSale(f"{key} cannot be empty.", data={"field": key})
        setattr(row, key, value)
    if body.items is not None:
        _check_items(session, body.items)
        # Nothing was reserved: the session has not started.
        session.execute(delete(FlashSaleItem).where(FlashSaleItem.session_id == row.id))
        _add_items(session, campaign, row, body.items)
    row.updated_at = clock.now()
    session.flush()
    if campaign.status == CampaignStatus.PUBLISHED:
        # A new start: a new chain (the old one finds the session not yet live and
        # nothing to write, and runs on harmlessly until the end).
        schedule_sweep(session, row)
    audit.record(
        session,
        actor,
        "flash_sale.session_updated",
        target_type=AUDIT_TARGET,
        target_id=row.id,
        detail={key: str(value) for key, value in changes.items()}
        | ({"items": len(body.items)} if body.items is not None else {}),
    )


def schedule_sweep(session: Session, row: FlashSaleSession) -> None:
    """The session's order writer: from its start, every second while it is live,
    then until nothing is left (``tasks.sweep``). Keyed by the start, so publishing
    twice or a first sale racing a publish schedule it once."""
    # The task must be registered wherever this runs (a script, the demo generator).
    from siyu.campaigns.flash_sale import tasks  # noqa: F401

    jobs.enqueue(
        session,
        SWEEP_TASK,
        {"session_id": row.id},
        run_at=row.starts_at,
        idempotency_key=f"{SWEEP_TASK}:{row.id}:{row.starts_at.isoformat()}",
    )


def schedule_sweeps(session: Session, campaign_id: int) -> None:
    for row in sessions_of(session, [campaign_id]):
        schedule_sweep(session, row)


def fix_engines(session: Session, campaign: Campaign, redis_url: str | None) -> None:
    """Record the engine of every session that has none yet (insert-or-nothing style:
    ``WHERE stock_engine IS NULL``, so two racing first sales agree)."""
    session.execute(
        update(FlashSaleSession)
        .where(FlashSaleSession.campaign_id == campaign.id, FlashSaleSession.stock_engine.is_(None))
        .values(stock_engine=engine_for(redis_url).value)
    )


def publish(
    session: Session, actor: Principal, campaign: Campaign, *, redis_url: str | None
) -> None:
    registry.publish(session, actor, campaign)
    fix_engines(session, campaign, redis_url)
    session.flush()
    schedule_sweeps(session, campaign.id)


def is_published(campaign: Campaign) -> bool:
    return campaign.status == CampaignStatus.PUBLISHED


@dataclass(frozen=True)
class ItemFigures:
    reserved: int
    sold: int
    orders: int
    gmv_amount: int


def item_figures(session: Session, item_ids: Sequence[int]) -> dict[int, ItemFigures]:
    """Reserved (holding a unit), sold (paid), orders and paid amount per item."""
    if not item_ids:
        return {}
    figures: dict[int, dict[str, int]] = {
        item_id: {"reserved": 0, "sold": 0, "orders": 0, "gmv": 0} for item_id in item_ids
    }
    rows = session.execute(
        select(
            FlashSaleReservation.item_id,
            FlashSaleReservation.status,
            func.sum(FlashSaleReservation.quantity),
            func.count(FlashSaleReservation.order_id),
            func.sum(FlashSaleReservation.quantity * FlashSaleReservation.unit_price),
        )
        .where(FlashSaleReservation.item_id.in_(item_ids))
        .group_by(FlashSaleReservation.item_id, FlashSaleReservation.status)
    )
    for item_id, status, quantity, orders, amount in rows:
        entry = figures[item_id]
        if status in HOLDING:
            entry["reserved"] += int(quantity or 0)
        if status == ReservationStatus.PAID:
            entry["sold"] += int(quantity or 0)
            entry["gmv"] += int(amount or 0)
        if status in (*HOLDING, ReservationStatus.PAID.value):
            entry["orders"] += int(orders or 0)
    return {
        item_id: ItemFigures(entry["reserved"], entry["sold"], entry["orders"], entry["gmv"])
        for item_id, entry in figures.items()
    }


def counters(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """The registry's live counters: stock left, reserved, sold, orders, GMV."""
    result: dict[int, dict[str, int]] = {
        campaign_id: {"stock_left": 0, "reserved": 0, "sold": 0, "orders": 0, "gmv_amount": 0}
        for campaign_id in campaign_ids
    }
    if not campaign_ids:
        return result
    stock = session.execute(
        select(FlashSaleItem.campaign_id, func.sum(FlashSaleItem.stock_left))
        .where(FlashSaleItem.campaign_id.in_(campaign_ids))
        .group_by(FlashSaleItem.campaign_id)
    )
    for campaign_id, left in stock:
        result[campaign_id]["stock_left"] = int(left or 0)
    rows = session.execute(
        select(
            FlashSaleReservation.campaign_id,
            FlashSaleReservation.status,
            func.sum(FlashSaleReservation.quantity),
            func.count(FlashSaleReservation.order_id),
            func.sum(FlashSaleReservation.quantity * FlashSaleReservation.unit_price),
        )
        .where(FlashSaleReservation.campaign_id.in_(campaign_ids))
        .group_by(FlashSaleReservation.campaign_id, FlashSaleReservation.status)
    )
    for campaign_id, status, quantity, orders, amount in rows:
        entry = result[campaign_id]
        if status in HOLDING:
            entry["reserved"] += int(quantity or 0)
            entry["orders"] += int(orders or 0)
        elif status == ReservationStatus.PAID:
            entry["sold"] += int(quantity or 0)
            entry["orders"] += int(orders or 0)
            entry["gmv_amount"] += int(amount or 0)
    return result


@dataclass(frozen=True)
class ItemView:
    item: FlashSaleItem
    product_name: str
    specs: str
    image: str | None
    list_price: int
    figures: ItemFigures


def item_views(session: Session, items: Sequence[FlashSaleItem]) -> list[ItemView]:
    if not items:
        return []
    skus = {
        row.id: row
        for row in session.execute(
            select(Sku.id, Sku.specs, Sku.image, Sku.sale_price, Product.name, Product.images)
            .join(Product, Product.id == Sku.product_id)
            .where(Sku.id.in_([item.sku_id for item in items]))
        )
    }
    figures = item_figures(session, [item.id for item in items])
    views = []
    for item in items:
        sku = skus[item.sku_id]
        views.append(
            ItemView(
                item=item,
                product_name=sku.name,
                specs=" ".join(str(value) for value in (sku.specs or {}).values()),
                image=sku.image or (sku.images[0] if sku.images else None),
                list_price=sku.sale_price,
                figures=figures[item.id],
            )
        )
    return views


def order_public_ids(session: Session, order_ids: Sequence[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    return dict(
        session.execute(select(Order.id, Order.public_id).where(Order.id.in_(order_ids))).all()
    )
