"""The flash sale's invariant, checked: never oversold, never stranded.

For every item, in the database: ``stock_left + sold + reserved == starting_stock``
(sold: paid reservations; reserved: reserved or ordered). On the Redis engine also
``redis_stock == stock_left - queued - pending_returns``: units taken in Redis but
not yet drained (*queued*, in the queue or the processing list and not yet in the
database), and units the database gave back that Redis has not yet received
(*pending_returns*, released or failed reservations outside the returned set).
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.flash_sale import service
from siyu.campaigns.flash_sale.engines import RedisStock, ReserveRequest
from siyu.campaigns.flash_sale.schemas import AuditItemOut, AuditOut
from siyu.models.flash_sale import (
    FlashSaleReservation,
    FlashSaleSession,
    ReservationStatus,
    StockEngine,
)


def _queued(session: Session, stock: RedisStock) -> Counter[int]:
    """Units per item in Redis's queue or processing list that the database lacks."""
    entries = [ReserveRequest.from_json(raw) for raw in stock.queued() + stock.processing()]
    if not entries:
        return Counter()
    known = set(
        session.scalars(
            select(FlashSaleReservation.public_id).where(
                FlashSaleReservation.public_id.in_({entry.public_id for entry in entries})
            )
        )
    )
    queued: Counter[int] = Counter()
    seen: set[str] = set()
    for entry in entries:
        if entry.public_id not in known and entry.public_id not in seen:
            seen.add(entry.public_id)
            queued[entry.item_id] += entry.quantity
    return queued


def _pending_returns(session: Session, stock: RedisStock, item_id: int) -> int:
    rows = session.execute(
        select(FlashSaleReservation.public_id, FlashSaleReservation.quantity).where(
            FlashSaleReservation.item_id == item_id,
            FlashSaleReservation.engine == StockEngine.REDIS.value,
            FlashSaleReservation.status.in_(
                (ReservationStatus.RELEASED.value, ReservationStatus.FAILED.value)
            ),
        )
    ).all()
    flags = stock.was_returned(item_id, [row.public_id for row in rows])
    return sum(row.quantity for row, done in zip(rows, flags, strict=True) if not done)


def check(session: Session, row: FlashSaleSession, stock: RedisStock | None) -> AuditOut:
    items = service.items_of(session, [row.id])
    figures = service.item_figures(session, [item.id for item in items])
    on_redis = row.stock_engine == StockEngine.REDIS and stock is not None
    queued = _queued(session, stock) if on_redis and stock is not None else Counter()
    out = []
    for item in items:
        sold, reserved = figures[item.id].sold, figures[item.id].reserved
        balanced = item.stock_left + sold + reserved == item.starting_stock
        redis_stock = None
        pending = 0
        if on_redis and stock is not None:
            redis_stock = stock.stock_of(item.id)
            pending = _pending_returns(session, stock, item.id)
            if redis_stock is not None:
                balanced = balanced and (redis_stock == item.stock_left - queued[item.id] - pending)
        out.append(
            AuditItemOut(
                item_id=item.public_id,
                starting_stock=item.starting_stock,
                stock_left=item.stock_left,
                sold=sold,
                reserved=reserved,
                redis_stock=redis_stock,
                queued=queued[item.id],
                pending_returns=pending,
                balanced=balanced,
            )
        )
    return AuditOut(
        session_id=row.public_id,
        engine=row.stock_engine,
        balanced=all(item.balanced for item in out),
        items=out,
    )
