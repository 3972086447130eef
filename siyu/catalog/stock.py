"""Every stock change goes through this module (DESIGN.md convention 5).

Each change is one conditional UPDATE whose WHERE clause carries the rule
(``on_hand - reserved >= :n`` to reserve, ``reserved >= :n`` to release), so two
requests racing for the last unit cannot both win: the database serialises them on
the row and the loser matches no row. There is no read-then-write anywhere. Every
change appends a ``stock_movement`` row in the same transaction, so the ledger and the
levels can never disagree (``audit()`` proves it).

Multi-line changes touch rows in primary-key order (sku_id, location_id): two orders
reserving the same SKUs in different orders would otherwise deadlock on PostgreSQL.
A failure raises; the caller's transaction (the request) rolls back what was done.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import and_, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from siyu.catalog.stock_errors import InvalidStockChange, StockInsufficient
from siyu.core import clock
from siyu.core.db import rowcount
from siyu.models.location import Location
from siyu.models.stock import StockLevel, StockMovement, StockMovementKind

_INSERT_MOVEMENT = insert(StockMovement)

# The hot statements, built once: checkout and payment run them for every line, and
# building an UPDATE costs more Python than executing it. Run on the session's
# connection (Core), since nothing here needs the ORM's identity map.
_THIS_ROW = and_(
    StockLevel.sku_id == bindparam("p_sku"),
    StockLevel.location_id == bindparam("p_location"),
)
_RESERVE = (
    update(StockLevel)
    .where(_THIS_ROW, StockLevel.on_hand - StockLevel.reserved >= bindparam("p_quantity"))
    .values(reserved=StockLevel.reserved + bindparam("p_quantity"), updated_at=bindparam("p_now"))
)
_RELEASE = (
    update(StockLevel)
    .where(_THIS_ROW, StockLevel.reserved >= bindparam("p_quantity"))
    .values(reserved=StockLevel.reserved - bindparam("p_quantity"), updated_at=bindparam("p_now"))
)
_COMMIT = (
    update(StockLevel)
    .where(_THIS_ROW, StockLevel.reserved >= bindparam("p_quantity"))
    .values(
        reserved=StockLevel.reserved - bindparam("p_quantity"),
        on_hand=StockLevel.on_hand - bindparam("p_quantity"),
        updated_at=bindparam("p_now"),
    )
)


def _params(item: StockItem, now: object) -> dict[str, object]:
    return {
        "p_sku": item.sku_id,
        "p_location": item.location_id,
        "p_quantity": item.quantity,
        "p_now": now,
    }


@dataclass(frozen=True, order=True)
class StockItem:
    """A quantity of one SKU at one location."""

    sku_id: int
    location_id: int
    quantity: int


@dataclass(frozen=True)
class Level:
    sku_id: int
    location_id: int
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def _ordered(items: Iterable[StockItem]) -> list[StockItem]:
    """Merge repeated (sku, location) pairs and sort by primary key (lock order)."""
    totals: dict[tuple[int, int], int] = {}
    for item in items:
        if item.quantity <= 0:
            raise InvalidStockChange(
                "Quantities must be positive.",
                data={"sku_id": item.sku_id, "quantity": item.quantity},
            )
        key = (item.sku_id, item.location_id)
        totals[key] = totals.get(key, 0) + item.quantity
    return [StockItem(sku, location, qty) for (sku, location), qty in sorted(totals.items())]


def _record(
    session: Session,
    items: list[StockItem],
    kind: StockMovementKind,
    *,
    order_id: int | None,
    actor: str,
    reason: str,
    signs: dict[tuple[int, int], int] | None = None,
) -> None:
    now = clock.now()
    session.connection().execute(
        _INSERT_MOVEMENT,
        [
            {
                "sku_id": item.sku_id,
                "location_id": item.location_id,
                "kind": kind.value,
                "quantity": item.quantity * (signs or {}).get((item.sku_id, item.location_id), 1),
                "order_id": order_id,
                "reason": reason[:200],
                "actor": actor[:64],
                "created_at": now,
            }
            for item in items
        ],
    )


def _where(item: StockItem) -> object:
    return and_(StockLevel.sku_id == item.sku_id, StockLevel.location_id == item.location_id)


def _ensure_levels(session: Session, items: list[StockItem]) -> None:
    """Insert missing (sku, location) rows at zero, race-free (insert-or-nothing)."""
    dialect = session.get_bind().dialect.name
    insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = clock.now()
    statement = insert_fn(StockLevel).on_conflict_do_nothing(
        index_elements=["sku_id", "location_id"]
    )
    session.execute(
        statement,
        [
            {
                "sku_id": item.sku_id,
                "location_id": item.location_id,
                "on_hand": 0,
                "reserved": 0,
                "updated_at": now,
            }
            for item in items
        ],
    )


def receive(session: Session, items: Iterable[StockItem], *, actor: str, reason: str = "") -> None:
    """Goods arrive at a location (+on_hand)."""
    ordered = _ordered(items)
    _ensure_levels(session, ordered)
    now = clock.now()
    for item in ordered:
        session.execute(
            update(StockLevel)
            .where(_where(item))  # type: ignore[arg-type]
            .values(on_hand=StockLevel.on_hand + item.quantity, updated_at=now)
        )
    _record(session, ordered, StockMovementKind.RECEIVE, order_id=None, actor=actor, reason=reason)


def adjust(
    session: Session, *, sku_id: int, location_id: int, delta: int, actor: str, reason: str
) -> None:
    """A stock-count correction. Taking stock below what is reserved is refused:
    those units are promised to unpaid orders."""
    if delta == 0:
        raise InvalidStockChange("The adjustment must not be zero.", data={"field": "delta"})
    if not reason.strip():
        raise InvalidStockChange("An adjustment needs a reason.", data={"field": "reason"})
    item = StockItem(sku_id, location_id, abs(delta))
    _ensure_levels(session, [item])
    result = session.execute(
        update(StockLevel)
        .where(_where(item), StockLevel.on_hand + delta >= StockLevel.reserved)  # type: ignore[arg-type]
        .values(on_hand=StockLevel.on_hand + delta, updated_at=clock.now())
    )
    if rowcount(result) != 1:
        raise StockInsufficient(
            "The adjustment would take stock below what is reserved or below zero.",
            data={"sku_id": sku_id, "location_id": location_id, "delta": delta},
        )
    _record(
        session,
        [item],
        StockMovementKind.ADJUST,
        order_id=None,
        actor=actor,
        reason=reason,
        signs={(sku_id, location_id): 1 if delta > 0 else -1},
    )


def reserve(
    session: Session, items: Iterable[StockItem], *, order_id: int | None, actor: str
) -> None:
    """Promise stock to an order (+reserved). All or nothing within the caller's
    transaction: the first line that cannot be covered raises ``stock.insufficient``."""
    ordered = _ordered(items)
    now = clock.now()
    connection = session.connection()
    for item in ordered:
        result = connection.execute(_RESERVE, _params(item, now))
        if rowcount(result) != 1:
            raise StockInsufficient(
                data={
                    "sku_id": item.sku_id,
                    "location_id": item.location_id,
                    "requested": item.quantity,
                    "available": available(session, item.sku_id, item.location_id),
                }
            )
    _record(session, ordered, StockMovementKind.RESERVE, order_id=order_id, actor=actor, reason="")


def release(
    session: Session,
    items: Iterable[StockItem],
    *,
    order_id: int | None,
    actor: str,
    reason: str = "",
) -> None:
    """Give reserved stock back (order cancelled or not paid in time)."""
    _move_reserved(session, _ordered(items), StockMovementKind.RELEASE, order_id, actor, reason)


def commit(
    session: Session, items: Iterable[StockItem], *, order_id: int | None, actor: str
) -> None:
    """The order is paid: reserved units leave stock (-on_hand, -reserved)."""
    _move_reserved(session, _ordered(items), StockMovementKind.COMMIT, order_id, actor, "")


def _move_reserved(
    session: Session,
    ordered: list[StockItem],
    kind: StockMovementKind,
    order_id: int | None,
    actor: str,
    reason: str,
) -> None:
    now = clock.now()
    statement = _COMMIT if kind == StockMovementKind.COMMIT else _RELEASE
    connection = session.connection()
    for item in ordered:
        result = connection.execute(statement, _params(item, now))
        if rowcount(result) != 1:
            # A reservation that is not there is a bug in the caller (released twice?).
            raise InvalidStockChange(
                f"Cannot {kind.value} stock that is not reserved.",
                data={"sku_id": item.sku_id, "location_id": item.location_id},
            )
    _record(session, ordered, kind, order_id=order_id, actor=actor, reason=reason)


def restock(
    session: Session,
    items: Iterable[StockItem],
    *,
    order_id: int | None,
    actor: str,
    reason: str = "",
) -> None:
    """Refunded goods return to sellable stock at their location (+on_hand)."""
    ordered = _ordered(items)
    _ensure_levels(session, ordered)
    now = clock.now()
    for item in ordered:
        session.execute(
            update(StockLevel)
            .where(_where(item))  # type: ignore[arg-type]
            .values(on_hand=StockLevel.on_hand + item.quantity, updated_at=now)
        )
    _record(
        session, ordered, StockMovementKind.RESTOCK, order_id=order_id, actor=actor, reason=reason
    )


def available(session: Session, sku_id: int, location_id: int) -> int:
    value = session.scalar(
        select(StockLevel.on_hand - StockLevel.reserved).where(
            StockLevel.sku_id == sku_id, StockLevel.location_id == location_id
        )
    )
    return int(value or 0)


def levels(session: Session, sku_ids: Iterable[int]) -> list[Level]:
    ids = sorted(set(sku_ids))
    if not ids:
        return []
    rows = session.execute(
        select(StockLevel.sku_id, StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved)
        .where(StockLevel.sku_id.in_(ids))
        .order_by(StockLevel.sku_id, StockLevel.location_id)
    ).all()
    return [Level(row.sku_id, row.location_id, row.on_hand, row.reserved) for row in rows]


def reserve_for_delivery(
    session: Session, wanted: dict[int, int], *, order_id: int | None, actor: str
) -> dict[int, int]:
    """Reserve ``wanted`` (SKU → quantity) for a delivery order, each SKU at the best
    location that ships mall orders and has enough (by ``fulfilment_priority``); return
    SKU → location.

    One read finds the candidates for every SKU; the conditional UPDATE still decides,
    so when another buyer takes the last units between the read and the update, the
    next candidate is tried. SKUs go in id order and each SKU's candidates in one fixed
    order, so concurrent checkouts never wait on each other in a cycle. All the
    movements are recorded in one insert. ``stock.insufficient`` when a SKU has no
    location left; the caller's transaction then undoes the rest.
    """
    for sku_id, quantity in wanted.items():
        if quantity <= 0:
            raise InvalidStockChange(
                "Quantities must be positive.", data={"sku_id": sku_id, "quantity": quantity}
            )
    rows = session.execute(
        select(StockLevel.sku_id, Location.id, StockLevel.on_hand - StockLevel.reserved)
        .join(Location, Location.id == StockLevel.location_id)
        .where(
            StockLevel.sku_id.in_(sorted(wanted)),
            Location.is_active.is_(True),
            Location.ships_online.is_(True),
        )
        .order_by(StockLevel.sku_id, Location.fulfilment_priority, Location.id)
    ).all()
    candidates: dict[int, list[int]] = {}
    for sku_id, location_id, available_now in rows:
        if available_now >= wanted[sku_id]:
            candidates.setdefault(sku_id, []).append(location_id)
    now = clock.now()
    connection = session.connection()
    chosen: dict[int, int] = {}
    for sku_id in sorted(wanted):
        item_quantity = wanted[sku_id]
        for location_id in candidates.get(sku_id, []):
            item = StockItem(sku_id, location_id, item_quantity)
            if rowcount(connection.execute(_RESERVE, _params(item, now))) == 1:
                chosen[sku_id] = location_id
                break
        else:
            raise StockInsufficient(
                data={"sku_id": sku_id, "requested": item_quantity, "fulfilment": "delivery"}
            )
    _record(
        session,
        [StockItem(sku_id, chosen[sku_id], wanted[sku_id]) for sku_id in sorted(wanted)],
        StockMovementKind.RESERVE,
        order_id=order_id,
        actor=actor,
        reason="",
    )
    return chosen


@dataclass(frozen=True)
class LedgerMismatch:
    sku_id: int
    location_id: int
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int


def audit(session: Session) -> list[LedgerMismatch]:
    """Replay the ledger and compare with the levels; an empty list means they agree."""
    kind = StockMovement.kind
    qty = StockMovement.quantity

    def total(*kinds: StockMovementKind) -> object:
        return func.coalesce(func.sum(qty).filter(kind.in_([k.value for k in kinds])), 0)

    ledger = (
        select(
            StockMovement.sku_id,
            StockMovement.location_id,
            (
                total(
                    StockMovementKind.RECEIVE, StockMovementKind.ADJUST, StockMovementKind.RESTOCK
                )  # type: ignore[operator]
                - total(StockMovementKind.COMMIT)
            ).label("on_hand"),
            (
                total(StockMovementKind.RESERVE)  # type: ignore[operator]
                - total(StockMovementKind.RELEASE)
                - total(StockMovementKind.COMMIT)
            ).label("reserved"),
        )
        .group_by(StockMovement.sku_id, StockMovement.location_id)
        .subquery()
    )
    rows = session.execute(
        select(
            StockLevel.sku_id,
            StockLevel.location_id,
            StockLevel.on_hand,
            StockLevel.reserved,
            func.coalesce(ledger.c.on_hand, 0).label("ledger_on_hand"),
            func.coalesce(ledger.c.reserved, 0).label("ledger_reserved"),
        ).outerjoin(
            ledger,
            and_(
                ledger.c.sku_id == StockLevel.sku_id,
                ledger.c.location_id == StockLevel.location_id,
            ),
        )
    ).all()
    return [
        LedgerMismatch(
            row.sku_id,
            row.location_id,
            row.on_hand,
            row.reserved,
            int(row.ledger_on_hand),
            int(row.ledger_reserved),
        )
        for row in rows
        if row.on_hand != row.ledger_on_hand or row.reserved != row.ledger_reserved
    ]
