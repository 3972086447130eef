"""Reads behind the RFM matrix and the lifecycle charts, from the written-back traits
(``customer_trait``), the daily ``lifecycle_distribution`` and the transition log.

They are aggregates over all customers, for holders of ``audiences.manage``
(operators); no customer data beyond ids leaves here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.audiences import config, lifecycle, rfm
from siyu.audiences.insights_schemas import (
    DistributionDayOut,
    LifecycleOut,
    ModelDistributionOut,
    RfmCellOut,
    RfmGroupOut,
    RfmMatrixOut,
    StageCountOut,
    TransitionOut,
)
from siyu.coupons.issuing import shop_today
from siyu.models.audience import CustomerTrait, LifecycleDistribution, LifecycleTransition

SECONDS_PER_DAY = 86_400
HISTORY_DAYS = 90
RECENT_TRANSITIONS = 50


def _epoch_seconds(session: Session, column: Any) -> Any:
    """A timestamp column as Unix seconds, in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column)
    # SQLite keeps "YYYY-MM-DD HH:MM:SS[.ffffff]" text (UTC); Julian day 2440587.5 is 1970.
    return (func.julianday(column) - 2440587.5) * SECONDS_PER_DAY


def rfm_matrix(session: Session, *, now: datetime) -> RfmMatrixOut:
    settings = config.load(session).rfm
    rows = session.execute(
        select(
            CustomerTrait.rfm_group,
            func.count(),
            func.coalesce(func.sum(CustomerTrait.spend_total), 0),
            func.avg(_epoch_seconds(session, CustomerTrait.last_order_at)),
        ).group_by(CustomerTrait.rfm_group)
    ).all()
    by_group = {group: (int(count), int(spend), avg) for group, count, spend, avg in rows}
    unscored = by_group.pop(None, (0, 0, None))[0]
    scored = sum(count for count, _spend, _avg in by_group.values())
    now_seconds = now.astimezone(UTC).timestamp()
    groups = []
    for group in rfm.GROUPS:
        count, spend, average = by_group.get(group.code, (0, 0, None))
        groups.append(
            RfmGroupOut(
                code=group.code,
                label=group.label,
                customers=count,
                share_bp=(10000 * count // scored) if scored else 0,
                spend_fen=spend,
                avg_recency_days=(
                    round((now_seconds - float(average)) / SECONDS_PER_DAY, 1)
                    if count and average is not None
                    else None
                ),
            )
        )
    cells: dict[tuple[int | None, int | None], int] = {
        (recency, frequency): int(count)
        for recency, frequency, count in session.execute(
            select(CustomerTrait.rfm_recency, CustomerTrait.rfm_frequency, func.count())
            .where(CustomerTrait.rfm_recency.is_not(None))
            .group_by(CustomerTrait.rfm_recency, CustomerTrait.rfm_frequency)
        )
    }
    grid = [
        RfmCellOut(recency=r, frequency=f, customers=cells.get((r, f), 0))
        for r in range(1, 6)
        for f in range(1, 6)
    ]
    return RfmMatrixOut(
        scored=scored,
        unscored=unscored,
        split=settings.split,
        method=settings.method.value,
        groups=groups,
        grid=grid,
    )


def current_distribution(session: Session) -> list[ModelDistributionOut]:
    out = []
    for model, column in (("aipl", CustomerTrait.aipl_stage), ("ops", CustomerTrait.ops_stage)):
        counts = {
            stage: int(count)
            for stage, count in session.execute(
                select(column, func.count()).where(column.is_not(None)).group_by(column)
            )
        }
        out.append(
            ModelDistributionOut(
                model=model,
                stages=[
                    StageCountOut(stage=stage, customers=counts.get(stage, 0))
                    for stage in lifecycle.STAGES[model]
                ],
            )
        )
    return out


def lifecycle_overview(
    session: Session, *, now: datetime, days: int = HISTORY_DAYS, model: str | None = None
) -> LifecycleOut:
    since = shop_today(now) - timedelta(days=days)
    history_query = (
        select(LifecycleDistribution)
        .where(LifecycleDistribution.day >= since)
        .order_by(
            LifecycleDistribution.day, LifecycleDistribution.model, LifecycleDistribution.stage
        )
    )
    transitions_query = select(LifecycleTransition).order_by(
        LifecycleTransition.at.desc(), LifecycleTransition.id.desc()
    )
    if model is not None:
        history_query = history_query.where(LifecycleDistribution.model == model)
        transitions_query = transitions_query.where(LifecycleTransition.model == model)
    history = [
        DistributionDayOut(day=row.day, model=row.model, stage=row.stage, customers=row.customers)
        for row in session.scalars(history_query)
    ]
    transitions = [
        TransitionOut(
            customer_id=row.customer_id,
            model=row.model,
            from_stage=row.from_stage,
            to_stage=row.to_stage,
            at=row.at,
        )
        for row in session.scalars(transitions_query.limit(RECENT_TRANSITIONS))
    ]
    current = current_distribution(session)
    if model is not None:
        current = [entry for entry in current if entry.model == model]
    return LifecycleOut(current=current, history=history, transitions=transitions)
