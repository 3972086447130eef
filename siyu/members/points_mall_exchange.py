"""Exchanging points (or points + cash) for points-mall items.

Every exchange takes three things, always in this order so two racing exchanges
lock rows in the same order (item, tally, membership) and never deadlock:

1. a unit of the item's stock: ``UPDATE … SET stock_left = stock_left - :n WHERE
   stock_left >= :n AND status = 'active'`` — the row count says sold out;
2. the member's tally: ``exchanged + :n <= per_member_limit`` in the same way;
3. the points, through ``siyu.members.points.spend`` (never below zero).

A check-then-act would let racers on the last unit all pass the check; a single
conditional UPDATE lets exactly the ones that fit through. Everything happens inside a
savepoint, so a refused exchange (sold out, limit, too few points) changes nothing.

Coupon items are issued at once (one coupon per exchange). Goods items become an
order through the mall's checkout: the ``points_exchange`` pricing step prices the
line at the item's cash price and the ``members.points_exchange`` placement hook
(``points_mall_pricing``) calls :func:`take_for_order` in the order's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import dialect_insert, rowcount
from siyu.core.settings import Settings
from siyu.coupons import issuing
from siyu.members import memberships, points
from siyu.members.points_mall import ACTIVE, list_items
from siyu.members.points_mall_errors import (
    Ended,
    InvalidExchange,
    LimitReached,
    NotAvailable,
    NotStarted,
    SoldOut,
    TierRequired,
)
from siyu.models.base import new_public_id
from siyu.models.coupon import Coupon, CouponSource
from siyu.models.member import (
    PointsExchange,
    PointsExchangeStatus,
    PointsMallItem,
    PointsMallItemKind,
    PointsMallTally,
)
from siyu.models.order import Fulfilment, Order
from siyu.orders import checkout, lifecycle

# The checkout option naming the exchange. Its value must be an ``ExchangeOption``:
# a buyer's JSON ``options`` can never produce one, so points-priced orders only come
# from :func:`exchange_goods`, never from a hand-made checkout request.
OPTION = "points_exchange"
PAID_BY_POINTS_ACTOR = "points"


@dataclass(frozen=True)
class ExchangeOption:
    item_id: int
    quantity: int


def spend_reference(exchange: PointsExchange) -> str:
    return f"exchange:{exchange.public_id}"


def in_window(item: PointsMallItem, now: datetime) -> bool:
    return (item.valid_from is None or item.valid_from <= now) and (
        item.valid_until is None or now < item.valid_until
    )


@dataclass(frozen=True)
class ShelfEntry:
    item: PointsMallItem
    # What this member may still exchange under the per-member limit; None = no limit.
    remaining_limit: int | None
    affordable: bool


def shelf(session: Session, customer_id: int) -> tuple[int, list[ShelfEntry]]:
    """The member's balance and what the mall offers them now: active items inside
    their window, with the member's remaining limit and whether the points suffice."""
    now = clock.now()
    items = [item for item in list_items(session, status=ACTIVE) if in_window(item, now)]
    balance, _frozen = points.balance(session, customer_id)
    exchanged = tallies(session, customer_id, [item.id for item in items])
    return balance, [
        ShelfEntry(
            item=item,
            remaining_limit=(
                None
                if item.per_member_limit is None
                else max(item.per_member_limit - exchanged.get(item.id, 0), 0)
            ),
            affordable=balance >= item.points_price,
        )
        for item in items
    ]


def check_exchangeable(
    session: Session, item: PointsMallItem, customer_id: int, *, at: datetime | None = None
) -> None:
    """Status, validity window and tier; stock and limits are taken, not checked."""
    now = at or clock.now()
    if item.status != ACTIVE:
        raise NotAvailable(data={"item_id": item.public_id, "status": item.status})
    if item.valid_from is not None and now < item.valid_from:
        # in_window's two halves, each with its own error for the buyer.
        raise NotStarted(
            data={"item_id": item.public_id, "valid_from": item.valid_from.isoformat()}
        )
    if item.valid_until is not None and now >= item.valid_until:
        raise Ended(data={"item_id": item.public_id, "valid_until": item.valid_until.isoformat()})
    if item.min_tier_rank is not None:
        tier = memberships.tier_of(session, customer_id)
        if tier is None or tier.rank < item.min_tier_rank:
            raise TierRequired(
                data={
                    "item_id": item.public_id,
                    "min_tier_rank": item.min_tier_rank,
                    "tier_rank": tier.rank if tier else None,
                }
            )


def _take_stock(session: Session, item: PointsMallItem, quantity: int) -> None:
    taken = session.execute(
        update(PointsMallItem)
        .where(
            PointsMallItem.id == item.id,
            PointsMallItem.status == ACTIVE,
            PointsMallItem.stock_left >= quantity,
        )
        .values(stock_left=PointsMallItem.stock_left - quantity)
        .execution_options(synchronize_session=False)
    )
    if rowcount(taken) != 1:
        session.refresh(item)
        if item.status != ACTIVE:
            raise NotAvailable(data={"item_id": item.public_id, "status": item.status})
        raise SoldOut(data={"item_id": item.public_id, "stock_left": item.stock_left})


def _take_tally(session: Session, item: PointsMallItem, customer_id: int, quantity: int) -> None:
    session.execute(
        dialect_insert(session, PointsMallTally)
        .values(item_id=item.id, customer_id=customer_id, exchanged=0)
        .on_conflict_do_nothing(index_elements=["item_id", "customer_id"])
    )
    statement = update(PointsMallTally).where(
        PointsMallTally.item_id == item.id, PointsMallTally.customer_id == customer_id
    )
    if item.per_member_limit is not None:
        statement = statement.where(PointsMallTally.exchanged + quantity <= item.per_member_limit)
    taken = session.execute(
        statement.values(exchanged=PointsMallTally.exchanged + quantity).execution_options(
            synchronize_session=False
        )
    )
    if rowcount(taken) != 1:
        raise LimitReached(
            data={"item_id": item.public_id, "per_member_limit": item.per_member_limit}
        )


def give_back(session: Session, item_id: int, customer_id: int, quantity: int) -> None:
    """Stock and tally back after a cancel or refund (never below zero or above total)."""
    if quantity <= 0:
        return
    session.execute(
        update(PointsMallItem)
        .where(
            PointsMallItem.id == item_id,
            PointsMallItem.stock_left + quantity <= PointsMallItem.stock_total,
        )
        .values(stock_left=PointsMallItem.stock_left + quantity)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(PointsMallTally)
        .where(
            PointsMallTally.item_id == item_id,
            PointsMallTally.customer_id == customer_id,
            PointsMallTally.exchanged >= quantity,
        )
        .values(exchanged=PointsMallTally.exchanged - quantity)
        .execution_options(synchronize_session=False)
    )


def _take(
    session: Session,
    item: PointsMallItem,
    customer_id: int,
    quantity: int,
    *,
    cash_amount: int,
    status: PointsExchangeStatus,
    order_id: int | None = None,
) -> PointsExchange:
    check_exchangeable(session, item, customer_id)
    now = clock.now()
    exchange = PointsExchange(
        public_id=new_public_id("pmx"),
        item_id=item.id,
        customer_id=customer_id,
        quantity=quantity,
        points=item.points_price * quantity,
        cash_amount=cash_amount,
        status=status.value,
        order_id=order_id,
        created_at=now,
        updated_at=now,
    )
    _take_stock(session, item, quantity)
    _take_tally(session, item, customer_id, quantity)
    if exchange.points > 0:
        points.spend(
            session,
            customer_id,
            exchange.points,
            reference=spend_reference(exchange),
            reason=f"积分兑换 {item.name}"[:200],
            order_id=order_id,
        )
    session.add(exchange)
    session.flush()
    return exchange


def exchange_coupon(
    session: Session, customer_id: int, item: PointsMallItem, quantity: int = 1
) -> PointsExchange:
    if quantity != 1:
        raise InvalidExchange("A coupon is exchanged one at a time.", data={"field": "quantity"})
    assert item.coupon_template_id is not None
    with session.begin_nested():
        exchange = _take(
            session,
            item,
            customer_id,
            quantity,
            cash_amount=0,
            status=PointsExchangeStatus.COMPLETED,
        )
        coupon = issuing.issue(
            session,
            item.coupon_template_id,
            customer_id,
            source=CouponSource.POINTS_MALL,
            source_ref=exchange.public_id,
            enforce_customer_limits=False,
        )
        exchange.coupon_id = coupon.id
        session.flush()
    return exchange


def take_for_order(
    session: Session, order: Order, item_id: int, quantity: int, cash_amount: int
) -> PointsExchange:
    """The placement hook's work, in the order's transaction (a raise undoes the order)."""
    item = session.get(PointsMallItem, item_id)
    if item is None or item.kind != PointsMallItemKind.GOODS:
        raise InvalidExchange("Not a goods item.", data={"item_id": item_id})
    return _take(
        session,
        item,
        order.customer_id,
        quantity,
        cash_amount=cash_amount,
        status=PointsExchangeStatus.PENDING_PAYMENT,
        order_id=order.id,
    )


@dataclass(frozen=True)
class GoodsRequest:
    fulfilment: Fulfilment = Fulfilment.DELIVERY
    pickup_store_id: int | None = None
    address: dict[str, str] | None = None
    touchpoint: str | None = None


def exchange_goods(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    customer_id: int,
    item: PointsMallItem,
    quantity: int,
    request: GoodsRequest,
) -> tuple[PointsExchange, Order]:
    """An order through the mall's checkout; paid at once when no cash is due."""
    assert item.sku_id is not None
    check_exchangeable(session, item, customer_id)
    with session.begin_nested():
        order, _lines = checkout.place_order(
            session,
            cipher,
            customer_id,
            checkout.CheckoutInput(
                items=[checkout.ItemInput(item.sku_id, quantity)],
                fulfilment=request.fulfilment,
                pickup_store_id=request.pickup_store_id,
                address=request.address,
                options={OPTION: ExchangeOption(item.id, quantity)},
                attribution=checkout.Attribution(touchpoint=request.touchpoint),
            ),
            settings,
        )
        exchange = session.scalars(
            select(PointsExchange).where(PointsExchange.order_id == order.id)
        ).one()
        if order.total_amount == 0:
            # Nothing to pay: no payment is opened (payments must be > 0), the order is
            # paid by points at once and fulfilled like any other.
            lifecycle.mark_paid(session, order, amount=0, actor=PAID_BY_POINTS_ACTOR)
            exchange.status = PointsExchangeStatus.COMPLETED.value
            exchange.updated_at = clock.now()
            session.flush()
    return exchange, order


def exchanges_of(session: Session, customer_id: int, *, limit: int = 50) -> list[PointsExchange]:
    return list(
        session.scalars(
            select(PointsExchange)
            .where(PointsExchange.customer_id == customer_id)
            .order_by(PointsExchange.id.desc())
            .limit(min(max(limit, 1), 200))
        )
    )


def recent_exchanges(
    session: Session, *, item_id: int | None = None, limit: int = 50
) -> list[PointsExchange]:
    statement = (
        select(PointsExchange).order_by(PointsExchange.id.desc()).limit(min(max(limit, 1), 200))
    )
    if item_id is not None:
        statement = statement.where(PointsExchange.item_id == item_id)
    return list(session.scalars(statement))


def tallies(session: Session, customer_id: int, item_ids: list[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    rows = session.execute(
        select(PointsMallTally.item_id, PointsMallTally.exchanged).where(
            PointsMallTally.customer_id == customer_id, PointsMallTally.item_id.in_(item_ids)
        )
    )
    return {row.item_id: row.exchanged for row in rows}


def coupon_codes(session: Session, coupon_ids: list[int]) -> dict[int, str]:
    if not coupon_ids:
        return {}
    rows = session.execute(select(Coupon.id, Coupon.code).where(Coupon.id.in_(coupon_ids)))
    return {row.id: row.code for row in rows}


def count_for(session: Session, item_id: int) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.sum(PointsExchange.quantity), 0)).where(
                PointsExchange.item_id == item_id
            )
        )
        or 0
    )
