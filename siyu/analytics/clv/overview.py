"""What the API and the console show of CLV: the latest fits, the distributions of
expected 365-day value and of probability alive, and the top customers.

Everything is read from ``clv_fit`` and ``customer_value`` (no DuckDB), and the
customer rows start from the caller's customer scope (``siyu.customers.access``):
a store manager's histogram and top list count only their store's customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from siyu.analytics.clv.models import CountModel
from siyu.customers import access as _access  # noqa: F401  (registers the Customer scope)
from siyu.models.analytics import ClvFit, CustomerValue
from siyu.models.customer import Customer
from siyu.staff.principal import Principal
from siyu.staff.scope import scoped

# Bucket lower bounds of expected 365-day value, fen (¥0, ¥100, ¥300 …, ¥10,000+).
VALUE_EDGES = (0, 10_000, 30_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
ALIVE_BUCKETS = 10  # probability alive in tenths
TOP_CUSTOMERS = 20
RECENT_FITS = 10


@dataclass(frozen=True)
class HistogramBar:
    label: str
    lower: float
    upper: float | None
    customers: int


@dataclass(frozen=True)
class ClvOverview:
    count_fit: ClvFit | None
    spend_fit: ClvFit | None
    recent_fits: list[ClvFit]
    customers: int
    value_histogram: list[HistogramBar]
    alive_histogram: list[HistogramBar]
    top_customers: list[dict[str, Any]] = field(default_factory=list)


def _yuan(fen: int) -> str:
    return f"¥{fen // 100:,}"


def _value_bars(counts: dict[int, int]) -> list[HistogramBar]:
    bars = []
    for index, lower in enumerate(VALUE_EDGES):
        upper = VALUE_EDGES[index + 1] if index + 1 < len(VALUE_EDGES) else None
        label = f"{_yuan(lower)}–{_yuan(upper)}" if upper is not None else f"{_yuan(lower)}+"
        bars.append(HistogramBar(label, lower, upper, counts.get(index, 0)))
    return bars


def _alive_bars(counts: dict[int, int]) -> list[HistogramBar]:
    return [
        HistogramBar(
            f"{index / ALIVE_BUCKETS:.1f}–{(index + 1) / ALIVE_BUCKETS:.1f}",
            index / ALIVE_BUCKETS,
            (index + 1) / ALIVE_BUCKETS,
            counts.get(index, 0),
        )
        for index in range(ALIVE_BUCKETS)
    ]


def latest_fits(session: Session) -> tuple[ClvFit | None, ClvFit | None]:
    """The latest count-model fit and the spend fit recorded with it."""
    count_fit = session.scalars(
        select(ClvFit)
        .where(ClvFit.model.in_([model.value for model in CountModel]))
        .order_by(ClvFit.fitted_at.desc(), ClvFit.id.desc())
        .limit(1)
    ).first()
    if count_fit is None:
        return None, None
    spend_fit = session.scalars(
        select(ClvFit)
        .where(ClvFit.model == "gamma_gamma", ClvFit.fitted_at == count_fit.fitted_at)
        .order_by(ClvFit.id.desc())
        .limit(1)
    ).first()
    return count_fit, spend_fit


def _scoped_values(principal: Principal) -> Any:
    statement = select(CustomerValue).join(Customer, Customer.id == CustomerValue.customer_id)
    return scoped(statement, Customer, principal).subquery()


def overview(session: Session, principal: Principal) -> ClvOverview:
    count_fit, spend_fit = latest_fits(session)
    values = _scoped_values(principal)
    value_bucket = case(
        *[
            (values.c.expected_value_365d >= lower, index)
            for index, lower in reversed(list(enumerate(VALUE_EDGES)))
        ],
        else_=0,
    )
    value_counts = {
        int(bucket): int(count)
        for bucket, count in session.execute(
            select(value_bucket, func.count()).group_by(value_bucket)
        ).all()
    }
    alive_bucket = case(
        *[
            (values.c.probability_alive >= index / ALIVE_BUCKETS, index)
            for index in reversed(range(ALIVE_BUCKETS))
        ],
        else_=0,
    )
    alive_counts = {
        int(bucket): int(count)
        for bucket, count in session.execute(
            select(alive_bucket, func.count()).group_by(alive_bucket)
        ).all()
    }
    top = session.execute(
        select(
            values.c.customer_id,
            values.c.probability_alive,
            values.c.expected_purchases_365d,
            values.c.expected_order_value,
            values.c.expected_value_365d,
        )
        .order_by(values.c.expected_value_365d.desc(), values.c.customer_id)
        .limit(TOP_CUSTOMERS)
    ).all()
    recent = list(
        session.scalars(
            select(ClvFit).order_by(ClvFit.fitted_at.desc(), ClvFit.id.desc()).limit(RECENT_FITS)
        )
    )
    return ClvOverview(
        count_fit=count_fit,
        spend_fit=spend_fit,
        recent_fits=recent,
        customers=sum(value_counts.values()),
        value_histogram=_value_bars(value_counts),
        alive_histogram=_alive_bars(alive_counts),
        top_customers=[dict(row._mapping) for row in top],
    )
