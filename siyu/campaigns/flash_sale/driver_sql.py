"""The database engine's three statements, run on the driver's cursor.

Profiling the group-commit writer showed most of its time in SQLAlchemy building
and caching the ORM statements, not in the database. The statements never change,
so they are written once per dialect and run on the DBAPI cursor of the caller's
transaction: the same SQL a ``take_tally``/``take_stock``/insert would send.

1. tally: insert-or-add in one statement, refused past the limit
   (``ON CONFLICT … DO UPDATE … WHERE quantity + :n <= :limit RETURNING``; no row
   back means over the limit);
2. stock: ``UPDATE … SET stock_left = stock_left - :n WHERE id = :id AND
   stock_left >= :n`` — the row count says whether it fit;
3. the reservation row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect

from siyu.core import clock
from siyu.models.flash_sale import ReservationStatus

_RESERVATION_COLUMNS = (
    "public_id",
    "campaign_id",
    "session_id",
    "item_id",
    "customer_id",
    "quantity",
    "unit_price",
    "engine",
    "status",
    "fulfilment",
    "pickup_store_id",
    "address_encrypted",
    "touchpoint",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Statements:
    tally: str
    tally_add: str
    stock: str
    reservation: str
    is_sqlite: bool
    moment: Any  # the dialect's bind processor for a timestamp, or None

    @classmethod
    def for_dialect(cls, dialect: Dialect) -> Statements:
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        values = ", ".join([mark] * len(_RESERVATION_COLUMNS))
        return cls(
            tally=(
                "INSERT INTO flash_sale_tally (item_id, customer_id, quantity) "
                f"VALUES ({mark}, {mark}, {mark}) "
                "ON CONFLICT (item_id, customer_id) DO UPDATE "
                "SET quantity = flash_sale_tally.quantity + excluded.quantity "
                f"WHERE flash_sale_tally.quantity + excluded.quantity <= {mark} "
                "RETURNING quantity"
            ),
            tally_add=(
                "INSERT INTO flash_sale_tally (item_id, customer_id, quantity) "
                f"VALUES ({mark}, {mark}, {mark}) "
                "ON CONFLICT (item_id, customer_id) DO UPDATE "
                "SET quantity = flash_sale_tally.quantity + excluded.quantity"
            ),
            stock=(
                "UPDATE flash_sale_item SET stock_left = stock_left - "
                f"{mark} WHERE id = {mark} AND stock_left >= {mark}"
            ),
            reservation=(
                f"INSERT INTO flash_sale_reservation ({', '.join(_RESERVATION_COLUMNS)}) "
                f"VALUES ({values})"
            ),
            is_sqlite=dialect.name == "sqlite",
            moment=DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect),
        )

    def timestamp(self, moment: datetime) -> Any:
        from datetime import UTC

        value = moment.astimezone(UTC)
        if self.is_sqlite:
            value = value.replace(tzinfo=None)
        return self.moment(value) if self.moment is not None else value


_cache: dict[str, Statements] = {}


def statements_for(dialect: Dialect) -> Statements:
    key = f"{dialect.name}:{dialect.paramstyle}"
    found = _cache.get(key)
    if found is None:
        found = _cache[key] = Statements.for_dialect(dialect)
    return found


def take_tally(
    cursor: Any, sql: Statements, item_id: int, customer_id: int, quantity: int, limit: int
) -> bool:
    if quantity > limit:
        return False
    cursor.execute(sql.tally, (item_id, customer_id, quantity, limit))
    return cursor.fetchone() is not None


def take_stock(cursor: Any, sql: Statements, item_id: int, quantity: int) -> bool:
    cursor.execute(sql.stock, (quantity, item_id, quantity))
    return bool(cursor.rowcount == 1)


def insert_reservation(cursor: Any, sql: Statements, values: dict[str, Any]) -> None:
    moment = values.get("reserved_at") or ""
    when = sql.timestamp(datetime.fromisoformat(moment) if moment else clock.now())
    row = {
        **values,
        "status": ReservationStatus.RESERVED.value,
        "created_at": when,
        "updated_at": when,
    }
    cursor.execute(sql.reservation, tuple(row[column] for column in _RESERVATION_COLUMNS))
