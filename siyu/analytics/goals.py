"""Revenue goals (目标拆解): create, re-plan, list and delete, within the caller's scope.

A goal's plan decomposes its target into new and returning customers × AOV × frequency
(``goals_plan``), from the operator's factors or a base period's actuals, and spreads
it over the days of the period; pacing against actual sales is in ``goals_pacing``.

Who may do what (docs/goals.md):

- reading needs ``analytics.read``; creating, changing and deleting also need
  ``guides.manage`` — a goal is the target a team works towards, and the staff who
  manage the guides (operators, store managers, admins) are the ones who set it.
  Analysts read goals but do not set them.
- a store manager sees and sets only goals of their own store (the slice is forced
  to it); staff scoped to their own customers (guides) or to nothing see no goals.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.analytics.connection import ORDER_PARTITION_SLACK_DAYS, Analytics
from siyu.analytics.errors import (
    AnalyticsObjectNotFound,
    InvalidAnalyticsRequest,
    InvalidPeriod,
    InvalidSlice,
    NotEnoughData,
)
from siyu.analytics.goals_plan import (
    SegmentActual,
    SegmentPlan,
    daily_weights,
    days_of,
    explicit_plan,
    factors_tolerance,
    largest_remainder,
    scale_to_target,
)
from siyu.analytics.goals_schemas import (
    GoalCreate,
    GoalFactors,
    GoalPlan,
    GoalUpdate,
    PlanMethod,
    SegmentFigures,
    SegmentPlanOut,
    SliceDimension,
    SpreadMethod,
)
from siyu.analytics.period import Period
from siyu.core import clock
from siyu.core.errors import PermissionDenied
from siyu.models.analytics import RevenueGoal
from siyu.models.channel_code import ChannelCode
from siyu.models.location import Location
from siyu.staff import audit
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.staff.scope import DataScope, ScopeKind, scope_for

# A goal covers at most a year (a leap year's 366 days).
MAX_GOAL_DAYS = 366
EARLIEST, LATEST = date(2000, 1, 1), date(2199, 12, 31)
MANAGE_PERMISSION = Permission.GUIDES_MANAGE


class GoalInvalidTarget(InvalidAnalyticsRequest):
    code = "analytics.goal_invalid_target"
    message = "The target must be a positive amount of fen."


class GoalFactorsInconsistent(InvalidAnalyticsRequest):
    code = "analytics.goal_factors_inconsistent"
    message = "The factors do not multiply out to the target."


class GoalSliceForbidden(PermissionDenied):
    code = "analytics.goal_slice_forbidden"
    message = "You may only set goals for your own store."


Slice = tuple[SliceDimension, int] | None


def goal_period(start: date, end: date) -> Period:
    if start < EARLIEST or end > LATEST:
        # Also keeps "the same days last year" and "the period before" valid dates.
        raise InvalidPeriod(
            "Goals are for dates between 2000 and 2199.",
            data={"start": start.isoformat(), "end": end.isoformat()},
        )
    period = Period(start, end)
    if period.days > MAX_GOAL_DAYS:
        raise InvalidPeriod(
            f"A goal covers at most {MAX_GOAL_DAYS} days.",
            data={"days": period.days, "max_days": MAX_GOAL_DAYS},
        )
    return period


def slice_sql(goal_slice: Slice) -> str:
    """The predicate on ``a_orders o`` of a slice (ids are ints: safe to inline)."""
    if goal_slice is None:
        return "TRUE"
    dimension, value = goal_slice
    column = "o.store_id" if dimension is SliceDimension.STORE else "o.channel_code_id"
    return f"{column} = {int(value)}"


def slice_of(goal: RevenueGoal) -> Slice:
    if goal.slice_dimension is None or goal.slice_value is None:
        return None
    return SliceDimension(goal.slice_dimension), int(goal.slice_value)


@dataclass(frozen=True)
class PeriodSales:
    """What a period sold: by segment, and GMV per local day (every day, 0 if none)."""

    segments: dict[str, SegmentActual]
    daily: dict[date, int]

    @property
    def gmv(self) -> int:
        return sum(segment.gmv for segment in self.segments.values())


def period_sales(analytics: Analytics, period: Period, goal_slice: Slice) -> PeriodSales:
    """Buyers, orders and GMV of new and returning customers in ``period`` and its GMV
    per day, in one scan (grouping sets): new means the customer's first paid order
    with the brand (any store or channel) falls in the period."""
    begin, _finish = period.utc_bounds(analytics.timezone)
    where = period.where(
        "o.paid_at", analytics.timezone, partition_slack_days=ORDER_PARTITION_SLACK_DAYS
    )
    rows = analytics.rows(
        f"""SELECT o.first_paid_at >= ? AS is_new, o.local_day AS day,
                   grouping(o.local_day) AS by_segment,
                   count(DISTINCT o.customer_id) AS customers, count(*) AS orders,
                   COALESCE(sum(o.gmv), 0) AS gmv
            FROM a_orders o WHERE {where} AND {slice_sql(goal_slice)}
            GROUP BY GROUPING SETS ((is_new), (o.local_day))""",
        [begin],
    )
    segments = {name: SegmentActual() for name in ("new", "returning")}
    daily = dict.fromkeys(days_of(period.start, period.end), 0)
    for row in rows:
        if row["by_segment"]:
            segments["new" if row["is_new"] else "returning"] = SegmentActual(
                int(row["customers"]), int(row["orders"]), int(row["gmv"])
            )
        elif row["day"] in daily:
            daily[row["day"]] = int(row["gmv"])
    return PeriodSales(segments=segments, daily=daily)


def _year_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def default_base_candidates(period: Period) -> list[Period]:
    """Same period last year first, then the period just before."""
    return [Period(_year_before(period.start), _year_before(period.end)), period.previous()]


def _figures(actual: SegmentActual) -> SegmentFigures:
    return SegmentFigures(customers=actual.customers, orders=actual.orders, gmv=actual.gmv)


def _plan_out(plan: SegmentPlan) -> SegmentPlanOut:
    return SegmentPlanOut(
        customers=plan.customers, aov=plan.aov, frequency=plan.frequency, amount=plan.amount
    )


def build_plan(
    analytics: Analytics,
    period: Period,
    target: int,
    goal_slice: Slice,
    *,
    base_start: date | None,
    base_end: date | None,
    factors: GoalFactors | None,
) -> GoalPlan:
    if target <= 0:
        raise GoalInvalidTarget(data={"target_amount": target})
    if (base_start is None) != (base_end is None):
        raise InvalidPeriod("Give both the start and the end of the base period, or neither.")
    if base_start is not None and base_end is not None:
        candidates = [goal_period(base_start, base_end)]
    else:
        candidates = default_base_candidates(period)
    base: Period | None = None
    sales: PeriodSales | None = None
    for candidate in candidates:
        sales = period_sales(analytics, candidate, goal_slice)
        if sales.gmv > 0:
            base = candidate
            break
    if factors is not None:
        plans = explicit_plan(
            (factors.new_customers, factors.new_aov, factors.new_frequency),
            (factors.returning_customers, factors.returning_aov, factors.returning_frequency),
            target,
        )
        if plans is None:
            raise GoalFactorsInconsistent(
                data={"target_amount": target, "tolerance": factors_tolerance(target)}
            )
    elif base is None or sales is None:
        raise NotEnoughData(
            "No base period sold anything for this slice: give the factors explicitly.",
            data={"tried": [[c.start.isoformat(), c.end.isoformat()] for c in candidates]},
        )
    else:
        plans = scale_to_target(sales.segments, target)
    days = days_of(period.start, period.end)
    if base is None or sales is None:
        weights, spread = [1.0] * len(days), SpreadMethod.EVEN
    else:
        weights, spread = daily_weights(sales.daily, days), SpreadMethod.BASE_SHAPE
    return GoalPlan(
        method=PlanMethod.EXPLICIT if factors is not None else PlanMethod.DERIVED,
        base_start=base.start if base else None,
        base_end=base.end if base else None,
        base_new=_figures(sales.segments["new"]) if base and sales else None,
        base_returning=_figures(sales.segments["returning"]) if base and sales else None,
        new=_plan_out(plans[0]),
        returning=_plan_out(plans[1]),
        spread=spread,
        daily=largest_remainder(target, weights),
        factors=factors,
    )


def _check_slice(session: Session, scope: DataScope, goal_slice: Slice) -> Slice:
    """The slice a caller may set: store managers' goals are always their store's."""
    if scope.kind is ScopeKind.STORE:
        own = (SliceDimension.STORE, int(scope.store_id or 0))
        if goal_slice is not None and goal_slice != own:
            raise GoalSliceForbidden(data={"store_id": scope.store_id})
        goal_slice = own
    elif scope.kind is not ScopeKind.ALL:
        raise GoalSliceForbidden("Your data scope has no goals.")
    if goal_slice is None:
        return None
    dimension, value = goal_slice
    model = Location if dimension is SliceDimension.STORE else ChannelCode
    if session.get(model, value) is None:
        raise InvalidSlice(
            "No such store or channel code.", data={"dimension": dimension, "value": value}
        )
    return goal_slice


def _requested_slice(dimension: SliceDimension | None, value: int | None) -> Slice:
    if dimension is None and value is None:
        return None
    if dimension is None or value is None:
        raise InvalidSlice("Give both the slice dimension and its value, or neither.")
    return dimension, value


def _require_manager(principal: Principal) -> None:
    principal.require(Permission.ANALYTICS_READ)
    principal.require(MANAGE_PERMISSION)


def create_goal(
    session: Session, analytics: Analytics, principal: Principal, body: GoalCreate
) -> RevenueGoal:
    _require_manager(principal)
    period = goal_period(body.period_start, body.period_end)
    scope = scope_for(principal)
    goal_slice = _check_slice(
        session, scope, _requested_slice(body.slice_dimension, body.slice_value)
    )
    plan = build_plan(
        analytics,
        period,
        body.target_amount,
        goal_slice,
        base_start=body.base_start,
        base_end=body.base_end,
        factors=body.factors,
    )
    now = clock.now()
    goal = RevenueGoal(
        name=body.name,
        period_start=period.start,
        period_end=period.end,
        target_amount=body.target_amount,
        plan=plan.model_dump(mode="json"),
        slice_dimension=goal_slice[0].value if goal_slice else None,
        slice_value=str(goal_slice[1]) if goal_slice else None,
        created_by=principal.username,
        created_at=now,
        updated_at=now,
    )
    session.add(goal)
    session.flush()
    audit.record(
        session,
        principal,
        "analytics.goal.create",
        target_type="revenue_goal",
        target_id=goal.id,
        detail={"target_amount": goal.target_amount},
    )
    return goal


def _visible(scope: DataScope) -> Any:
    statement = select(RevenueGoal)
    if scope.kind is ScopeKind.ALL:
        return statement
    if scope.kind is ScopeKind.STORE:
        return statement.where(
            RevenueGoal.slice_dimension == SliceDimension.STORE.value,
            RevenueGoal.slice_value == str(int(scope.store_id or 0)),
        )
    return statement.where(RevenueGoal.id.is_(None))  # guides and the unscoped: none


def list_goals(session: Session, principal: Principal) -> list[RevenueGoal]:
    statement = _visible(scope_for(principal))
    return list(
        session.scalars(statement.order_by(RevenueGoal.period_start.desc(), RevenueGoal.id.desc()))
    )


def get_goal(session: Session, principal: Principal, goal_id: int) -> RevenueGoal:
    """The goal if the caller may see it; someone else's is "not found", not "forbidden"."""
    goal = session.scalars(_visible(scope_for(principal)).where(RevenueGoal.id == goal_id)).first()
    if goal is None:
        raise AnalyticsObjectNotFound("No such goal.", data={"goal_id": goal_id})
    return goal


def update_goal(
    session: Session, analytics: Analytics, principal: Principal, goal_id: int, body: GoalUpdate
) -> RevenueGoal:
    _require_manager(principal)
    goal = get_goal(session, principal, goal_id)
    sent = body.model_fields_set - {"name"}
    if body.name is not None:
        goal.name = body.name
    if sent:
        stored = GoalPlan.model_validate(goal.plan)
        start = body.period_start or goal.period_start
        end = body.period_end or goal.period_end
        period = goal_period(start, end)
        target = goal.target_amount if body.target_amount is None else body.target_amount
        goal_slice = slice_of(goal)
        if {"slice_dimension", "slice_value"} & body.model_fields_set:
            goal_slice = _requested_slice(body.slice_dimension, body.slice_value)
        goal_slice = _check_slice(session, scope_for(principal), goal_slice)
        factors = None if body.derive else (body.factors or stored.factors)
        base_start, base_end = body.base_start, body.base_end
        if not {"base_start", "base_end"} & body.model_fields_set and (start, end) == (
            goal.period_start,
            goal.period_end,
        ):
            # Same period, no new base: keep the base the plan was made from.
            base_start, base_end = stored.base_start, stored.base_end
        plan = build_plan(
            analytics,
            period,
            target,
            goal_slice,
            base_start=base_start,
            base_end=base_end,
            factors=factors,
        )
        goal.period_start, goal.period_end, goal.target_amount = period.start, period.end, target
        goal.slice_dimension = goal_slice[0].value if goal_slice else None
        goal.slice_value = str(goal_slice[1]) if goal_slice else None
        goal.plan = plan.model_dump(mode="json")
    goal.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        principal,
        "analytics.goal.update",
        target_type="revenue_goal",
        target_id=goal.id,
        detail={"fields": sorted(body.model_fields_set)},
    )
    return goal


def delete_goal(session: Session, principal: Principal, goal_id: int) -> None:
    _require_manager(principal)
    goal = get_goal(session, principal, goal_id)
    session.delete(goal)
    session.flush()
    audit.record(
        session, principal, "analytics.goal.delete", target_type="revenue_goal", target_id=goal_id
    )


def last_complete_day(period: Period, today: date) -> date | None:
    """Pacing runs to yesterday (today is not over), inside the period."""
    day = min(period.end, today - timedelta(days=1))
    return day if day >= period.start else None
