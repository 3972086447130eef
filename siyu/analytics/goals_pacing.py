"""A goal's report: its spread by month/week/day, daily pacing of actual against target,
the projected end and which factor is behind; and the same numbers as report tables.

Pacing is as of the last complete day (yesterday, or the period's end). Per day: the
cumulative actual GMV against the cumulative target, % achieved = actual / target to
date, and the projected end = actual to date × target / target to date — linear on
the spread's shape, so a slow weekday expected to be slow does not look like a miss.

"Behind": the gap (actual − target to date) split over the six factors by LMDI
(``goals_plan.gap_contributions``), the plan prorated to date as the brief of the
seeds has it: customers × the spread's share to date, AOV and frequency as planned.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from itertools import accumulate

from siyu.analytics.connection import Analytics
from siyu.analytics.goals import last_complete_day, period_sales, slice_of
from siyu.analytics.goals_plan import (
    Contribution,
    SegmentActual,
    behind_factor,
    days_of,
    gap_contributions,
    roll_up,
)
from siyu.analytics.goals_schemas import (
    ContributionOut,
    GoalOut,
    GoalPlan,
    GoalReportOut,
    Pacing,
    PacingDay,
    SegmentFigures,
    SpreadRow,
)
from siyu.analytics.period import Grain, Period
from siyu.analytics.report import ColumnKind, ReportColumn, ReportTable
from siyu.models.analytics import RevenueGoal


def goal_out(goal: RevenueGoal) -> GoalOut:
    return GoalOut(
        id=goal.id,
        name=goal.name,
        target_amount=goal.target_amount,
        period_start=goal.period_start,
        period_end=goal.period_end,
        slice_dimension=goal.slice_dimension,
        slice_value=goal.slice_value,
        plan=GoalPlan.model_validate(goal.plan),
        created_by=goal.created_by,
        created_at=goal.created_at,
        updated_at=goal.updated_at,
    )


def _contribution_out(row: Contribution) -> ContributionOut:
    return ContributionOut(
        segment=row.segment,
        factor=row.factor,
        planned=row.planned,
        actual=row.actual,
        contribution=row.contribution,
    )


def pacing(analytics: Analytics, goal: RevenueGoal, plan: GoalPlan) -> Pacing:
    period = Period(goal.period_start, goal.period_end)
    days = days_of(period.start, period.end)
    cumulative_targets = list(accumulate(plan.daily))
    as_of = last_complete_day(period, analytics.today)
    goal_slice = slice_of(goal)
    sold: dict[date, int] = {}
    actuals: dict[str, SegmentActual] = {}
    if as_of is not None:
        to_date = Period(period.start, as_of)
        sales = period_sales(analytics, to_date, goal_slice)
        sold, actuals = sales.daily, sales.segments
    rows: list[PacingDay] = []
    running = 0
    for day, target, cumulative_target in zip(days, plan.daily, cumulative_targets, strict=True):
        actual = sold.get(day) if as_of is not None and day <= as_of else None
        if actual is not None:
            running += actual
        rows.append(
            PacingDay(
                day=day,
                target=target,
                cumulative_target=cumulative_target,
                actual=actual,
                cumulative_actual=running if actual is not None else None,
                achieved=running / cumulative_target
                if actual is not None and cumulative_target
                else None,
            )
        )
    index = days.index(as_of) if as_of is not None else -1
    target_to_date = cumulative_targets[index] if index >= 0 else 0
    actual_to_date = running
    share = target_to_date / goal.target_amount
    contributions: list[Contribution] = []
    if as_of is not None:
        planned = {
            "new": (plan.new.customers * share, plan.new.aov, plan.new.frequency),
            "returning": (
                plan.returning.customers * share,
                plan.returning.aov,
                plan.returning.frequency,
            ),
        }
        contributions = gap_contributions(planned, actuals)
    behind = behind_factor(contributions)
    projected = (
        round(actual_to_date * goal.target_amount / target_to_date) if target_to_date else None
    )
    empty = SegmentFigures(customers=0, orders=0, gmv=0)
    return Pacing(
        as_of=as_of,
        actual_to_date=actual_to_date,
        target_to_date=target_to_date,
        achieved=actual_to_date / target_to_date if target_to_date else None,
        projected_end=projected,
        projected_achievement=projected / goal.target_amount if projected is not None else None,
        gap=actual_to_date - target_to_date,
        new=SegmentFigures(**vars(actuals["new"])) if actuals else empty,
        returning=SegmentFigures(**vars(actuals["returning"])) if actuals else empty,
        contributions=[_contribution_out(row) for row in contributions],
        behind=_contribution_out(behind) if behind else None,
        days=rows,
    )


def report(analytics: Analytics, goal: RevenueGoal) -> GoalReportOut:
    plan = GoalPlan.model_validate(goal.plan)
    days = days_of(goal.period_start, goal.period_end)

    def spread(grain: Grain) -> list[SpreadRow]:
        return [
            SpreadRow(bucket=bucket, target=amount)
            for bucket, amount in roll_up(days, plan.daily, grain)
        ]

    return GoalReportOut(
        goal=goal_out(goal),
        spread_month=spread(Grain.MONTH),
        spread_week=spread(Grain.WEEK),
        spread_day=spread(Grain.DAY),
        pacing=pacing(analytics, goal, plan),
    )


Translate = Callable[[str], str]
TABLES = ("decomposition", "spread_month", "spread_week", "spread_day", "pacing", "behind")


def _column(t: Translate, key: str, kind: ColumnKind) -> ReportColumn:
    return ReportColumn(key, t(f"analytics_goals.column.{key}"), kind)


def tables(result: GoalReportOut, t: Translate) -> list[ReportTable]:
    """The report's tables, labelled in the caller's language by ``t``."""
    plan = result.goal.plan
    base = {"new": plan.base_new, "returning": plan.base_returning}
    decomposition = ReportTable(
        "decomposition",
        [
            _column(t, "segment", ColumnKind.TEXT),
            _column(t, "customers", ColumnKind.INTEGER),
            _column(t, "aov", ColumnKind.MONEY),
            _column(t, "frequency", ColumnKind.NUMBER),
            _column(t, "amount", ColumnKind.MONEY),
            _column(t, "base_customers", ColumnKind.INTEGER),
            _column(t, "base_gmv", ColumnKind.MONEY),
        ],
    )
    for name, segment in (("new", plan.new), ("returning", plan.returning)):
        figures = base[name]
        decomposition.rows.append(
            {
                "segment": t(f"analytics_goals.segment.{name}"),
                "customers": segment.customers,
                "aov": round(segment.aov),
                "frequency": segment.frequency,
                "amount": segment.amount,
                "base_customers": figures.customers if figures else None,
                "base_gmv": figures.gmv if figures else None,
            }
        )
    decomposition.rows.append(
        {
            "segment": t("analytics_goals.segment.total"),
            "customers": plan.new.customers + plan.returning.customers,
            "amount": plan.new.amount + plan.returning.amount,
            "base_customers": sum(f.customers for f in base.values() if f) if base["new"] else None,
            "base_gmv": sum(f.gmv for f in base.values() if f) if base["new"] else None,
        }
    )
    spreads = [
        ReportTable(
            name,
            [_column(t, "bucket", ColumnKind.DATE), _column(t, "target", ColumnKind.MONEY)],
            [row.model_dump() for row in rows],
        )
        for name, rows in (
            ("spread_month", result.spread_month),
            ("spread_week", result.spread_week),
            ("spread_day", result.spread_day),
        )
    ]
    pacing_table = ReportTable(
        "pacing",
        [
            _column(t, "day", ColumnKind.DATE),
            _column(t, "target", ColumnKind.MONEY),
            _column(t, "actual", ColumnKind.MONEY),
            _column(t, "cumulative_target", ColumnKind.MONEY),
            _column(t, "cumulative_actual", ColumnKind.MONEY),
            _column(t, "achieved", ColumnKind.RATIO),
        ],
        [row.model_dump() for row in result.pacing.days],
    )
    behind = ReportTable(
        "behind",
        [
            _column(t, "segment", ColumnKind.TEXT),
            _column(t, "factor", ColumnKind.TEXT),
            _column(t, "planned", ColumnKind.NUMBER),
            _column(t, "actual", ColumnKind.NUMBER),
            _column(t, "contribution", ColumnKind.MONEY),
        ],
        [
            {
                "segment": t(f"analytics_goals.segment.{row.segment}"),
                "factor": t(f"analytics_goals.factor.{row.factor}"),
                "planned": row.planned,
                "actual": row.actual,
                "contribution": round(row.contribution),
            }
            for row in result.pacing.contributions
        ],
    )
    return [decomposition, *spreads, pacing_table, behind]
