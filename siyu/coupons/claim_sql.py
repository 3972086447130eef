"""A coupon claim's statements on the driver's cursor, for the group-commit writer
(``claim_writer``): the same rows ``issuing.issue`` writes through the ORM, without
SQLAlchemy building and caching statements per claim.

SQLite (in-process, a statement costs microseconds): one statement per step —
the customer is live; the tally bumped while under the limits (one upsert, no row
back when over); the template counted while active and below its total; the coupon
row. PostgreSQL (each statement is a round trip): the same four steps in one
statement, data-modifying CTEs chained so each runs only if the one before took
effect; batches go set-wise through ``claim_batch_pg``. Either way a refusal after
the tally was bumped gives it back in the same transaction (``give_back``), as
``issuing`` does, so a refused claim changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Dialect

from siyu.models.coupon import Coupon, CouponStatus, CouponTally, CouponTemplate, TemplateStatus
from siyu.models.customer import CustomerStatus

_COUPON_COLUMNS = (
    "code",
    "template_id",
    "customer_id",
    "status",
    "source",
    "source_ref",
    "issued_by",
    "valid_from",
    "valid_until",
    "claimed_at",
    "discount_amount",
)
ACTIVE_TEMPLATE = f"status = '{TemplateStatus.ACTIVE.value}'"
LIVE_CUSTOMER = f"status = '{CustomerStatus.ACTIVE.value}'"


@dataclass(frozen=True, slots=True)
class ClaimRow:
    """What one claim writes; limits as the template had them when cached."""

    template_id: int
    customer_id: int
    source: str
    code: str
    today: date
    now: datetime
    valid_from: datetime
    valid_until: datetime
    per_customer_limit: int | None
    per_day_limit: int | None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the statements did: ``coupon_id`` is set when the coupon was issued."""

    customer_live: bool
    tally_taken: bool
    coupon_id: int | None


def _tally_upsert(mark: str, row: ClaimRow, values: str) -> str:
    """Insert-or-bump of the tally, the update refused past the limits (the insert
    of a first claim always fits: limits below 1 are refused before)."""
    limits = []
    if row.per_customer_limit is not None:
        limits.append(f"coupon_tally.claimed_total < {mark}")
    if row.per_day_limit is not None:
        limits.append(f"(coupon_tally.day <> excluded.day OR coupon_tally.claimed_on_day < {mark})")
    where = f" WHERE {' AND '.join(limits)}" if limits else ""
    return (
        "INSERT INTO coupon_tally (template_id, customer_id, claimed_total, day, claimed_on_day) "
        f"{values} ON CONFLICT (template_id, customer_id) DO UPDATE SET "
        "claimed_total = coupon_tally.claimed_total + 1, "
        "claimed_on_day = CASE WHEN coupon_tally.day = excluded.day "
        "THEN coupon_tally.claimed_on_day + 1 ELSE 1 END, "
        f"day = excluded.day{where}"
    )


def _limit_values(row: ClaimRow) -> tuple[int, ...]:
    return tuple(
        limit for limit in (row.per_customer_limit, row.per_day_limit) if limit is not None
    )


class ClaimStatements:
    """The statements of one dialect, and the bind processors of their values."""

    def __init__(self, dialect: Dialect) -> None:
        self.dialect = dialect
        self.is_sqlite = dialect.name == "sqlite"
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        coupon = cast(Table, Coupon.__table__)
        tally = cast(Table, CouponTally.__table__)
        template = cast(Table, CouponTemplate.__table__)
        self._moment = template.c.updated_at.type._cached_bind_processor(dialect)
        self._day = tally.c.day.type._cached_bind_processor(dialect)
        self._coupon_processors = [
            coupon.c[name].type._cached_bind_processor(dialect) for name in _COUPON_COLUMNS
        ]
        self._tallies: dict[tuple[bool, bool], str] = {}

    def moment(self, value: datetime) -> Any:
        return value if self._moment is None else self._moment(value)

    def day(self, value: date) -> Any:
        return value if self._day is None else self._day(value)

    def coupon_values(self, row: ClaimRow) -> tuple[Any, ...]:
        values = (
            row.code,
            row.template_id,
            row.customer_id,
            CouponStatus.AVAILABLE.value,
            row.source,
            None,
            "customer",
            row.valid_from,
            row.valid_until,
            row.now,
            0,
        )
        return tuple(
            value if process is None else process(value)
            for process, value in zip(self._coupon_processors, values, strict=True)
        )

    def _tally(self, row: ClaimRow, values: str) -> str:
        key = (row.per_customer_limit is not None, row.per_day_limit is not None)
        sql = self._tallies.get(key)
        if sql is None:
            sql = self._tallies[key] = _tally_upsert(self.mark, row, values)
        return sql

    # --- the claim ---------------------------------------------------------------------

    def claim_all(self, cursor: Any, rows: list[ClaimRow]) -> list[Outcome]:
        """Each claim of ``rows`` with its own statements, in order, on the
        transaction of ``cursor``: exact however other processes race (the
        writer sends PostgreSQL batches through ``claim_batch_pg`` instead)."""
        if self.is_sqlite:
            return [self._claim_sqlite(cursor, row) for row in rows]
        outcomes = []
        for row in rows:
            self._claim_pg(cursor, row)
            live, taken, _counted, coupon_id = cursor.fetchone()
            outcomes.append(Outcome(bool(live), bool(taken), coupon_id))
        return outcomes

    def _claim_sqlite(self, cursor: Any, row: ClaimRow) -> Outcome:
        cursor.execute(
            f"SELECT 1 FROM customer WHERE id = ? AND {LIVE_CUSTOMER}", (row.customer_id,)
        )
        if cursor.fetchone() is None:
            return Outcome(False, False, None)
        cursor.execute(
            self._tally(row, "VALUES (?, ?, 1, ?, 1)") + " RETURNING claimed_total",
            (row.template_id, row.customer_id, self.day(row.today), *_limit_values(row)),
        )
        if cursor.fetchone() is None:
            return Outcome(True, False, None)
        cursor.execute(
            "UPDATE coupon_template SET issued_count = issued_count + 1, updated_at = ? "
            f"WHERE id = ? AND {ACTIVE_TEMPLATE} "
            "AND (total_quantity IS NULL OR issued_count < total_quantity)",
            (self.moment(row.now), row.template_id),
        )
        if cursor.rowcount != 1:
            return Outcome(True, True, None)
        columns = ", ".join(_COUPON_COLUMNS)
        marks = ", ".join("?" * len(_COUPON_COLUMNS))
        cursor.execute(
            f"INSERT INTO coupon ({columns}) VALUES ({marks}) RETURNING id", self.coupon_values(row)
        )
        return Outcome(True, True, int(cursor.fetchone()[0]))

    def _claim_pg(self, cursor: Any, row: ClaimRow) -> None:
        columns = ", ".join(_COUPON_COLUMNS)
        marks = ", ".join(["%s"] * len(_COUPON_COLUMNS))
        tally = self._tally(row, "SELECT %s, %s, 1, %s, 1 FROM live")
        cursor.execute(
            f"WITH live AS (SELECT 1 FROM customer WHERE id = %s AND {LIVE_CUSTOMER}), "
            f"tally AS ({tally} RETURNING 1), "
            "counted AS (UPDATE coupon_template SET issued_count = issued_count + 1, "
            f"updated_at = %s WHERE id = %s AND {ACTIVE_TEMPLATE} "
            "AND (total_quantity IS NULL OR issued_count < total_quantity) "
            "AND EXISTS (SELECT 1 FROM tally) RETURNING 1), "
            f"issued AS (INSERT INTO coupon ({columns}) SELECT {marks} "
            "WHERE EXISTS (SELECT 1 FROM counted) RETURNING id) "
            "SELECT EXISTS (SELECT 1 FROM live), EXISTS (SELECT 1 FROM tally), "
            "EXISTS (SELECT 1 FROM counted), (SELECT id FROM issued)",
            (
                row.customer_id,
                row.template_id,
                row.customer_id,
                self.day(row.today),
                *_limit_values(row),
                self.moment(row.now),
                row.template_id,
                *self.coupon_values(row),
            ),
        )

    # --- refusals ----------------------------------------------------------------------

    def give_back(self, cursor: Any, row: ClaimRow) -> None:
        """Undo this claim's tally bump (``issuing._give_back_tally``)."""
        mark = self.mark
        cursor.execute(
            "UPDATE coupon_tally SET claimed_total = claimed_total - 1, claimed_on_day = "
            f"CASE WHEN day = {mark} THEN claimed_on_day - 1 ELSE claimed_on_day END "
            f"WHERE template_id = {mark} AND customer_id = {mark}",
            (self.day(row.today), row.template_id, row.customer_id),
        )
        cursor.execute(
            f"DELETE FROM coupon_tally WHERE template_id = {mark} AND customer_id = {mark} "
            "AND claimed_total = 0",
            (row.template_id, row.customer_id),
        )

    def template_status(self, cursor: Any, template_id: int) -> str | None:
        cursor.execute(f"SELECT status FROM coupon_template WHERE id = {self.mark}", (template_id,))
        found = cursor.fetchone()
        return None if found is None else str(found[0])


_cache: dict[str, ClaimStatements] = {}


def statements_for(dialect: Dialect) -> ClaimStatements:
    key = f"{dialect.name}:{dialect.paramstyle}"
    found = _cache.get(key)
    if found is None:
        found = _cache[key] = ClaimStatements(dialect)
    return found
