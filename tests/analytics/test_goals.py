"""Goals on generated orders: the base factors, the spread and the daily pacing equal a
plain-Python computation over the same orders (local days, first purchases, GMV);
a store manager's goals are their store's; bad input has stable codes."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics import goals, goals_pacing
from siyu.analytics.errors import AnalyticsObjectNotFound
from siyu.analytics.goals_plan import daily_weights, days_of, largest_remainder
from siyu.analytics.goals_schemas import GoalCreate, GoalFactors, GoalUpdate, SliceDimension
from siyu.core import clock
from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.models.channel_code import ChannelCode
from siyu.models.customer import Customer
from siyu.models.location import Location
from siyu.models.order import Order
from siyu.models.staff import Role
from siyu.staff.permissions import permissions_for
from siyu.staff.principal import Principal
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.analytics.conftest import OpenAnalytics

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 on 22 Nov in Shanghai
TODAY = date(2026, 11, 22)
SHANGHAI = timedelta(hours=8)
PERIOD = (date(2026, 11, 1), date(2026, 11, 30))


@dataclass
class Generated:
    stores: list[int] = field(default_factory=list)
    channel_code: int = 0
    orders: list[dict[str, Any]] = field(default_factory=list)


def build_orders(session: Session, rng: random.Random, *, customers: int = 100) -> Generated:
    """Customers buying from Sep 2025 to 21 Nov 2026 in two stores (or none), at whole
    hours so some payments fall either side of local midnight; some unpaid, some
    refunded."""
    data = Generated()
    for code in ("S1", "S2"):
        store = Location(code=f"{code}-{rng.random()}", name=f"门店{code}", kind="store")
        session.add(store)
        session.flush()
        data.stores.append(store.id)
    code = ChannelCode(code=f"ad-{rng.random()}", name="投放", kind="ad", touchpoint="mp")
    session.add(code)
    session.flush()
    data.channel_code = code.id
    first = datetime(2025, 9, 1, tzinfo=UTC)
    span_hours = int((NOW - timedelta(hours=12) - first).total_seconds() // 3600)
    for number in range(customers):
        customer = Customer(consent={}, created_at=first, updated_at=first)
        session.add(customer)
        session.flush()
        for _ in range(rng.choice((1, 1, 2, 3, 4))):
            at = first + timedelta(hours=rng.randrange(span_hours))
            # Recent customers buy more, so the goal month has new and returning buyers.
            if rng.random() < 0.4:
                at = NOW - timedelta(hours=rng.randrange(12, 24 * 60))
            paid = rng.random() > 0.1
            amount = rng.choice((4_900, 9_900, 19_900, 35_000))
            refunded = rng.choice((0, 0, 0, amount // 2, amount)) if paid else 0
            order = Order(
                public_id=f"g{number}-{rng.random()}",
                customer_id=customer.id,
                status="paid" if paid else "pending_payment",
                items_amount=amount,
                total_amount=amount,
                paid_amount=amount if paid else 0,
                refunded_amount=refunded,
                item_count=1,
                store_id=rng.choice([*data.stores, None]),
                channel_code_id=rng.choice((code.id, None)),
                created_at=at - timedelta(minutes=3),
                updated_at=at,
                paid_at=at if paid else None,
            )
            session.add(order)
            if paid:
                data.orders.append(
                    {
                        "customer_id": customer.id,
                        "paid_at": at,
                        "gmv": amount - refunded,
                        "store_id": order.store_id,
                        "channel_code_id": order.channel_code_id,
                    }
                )
    return data


Slice = int | tuple[str, int] | None  # a store id, or (order key, id)


def _in_slice(order: dict[str, Any], wanted: Slice) -> bool:
    if wanted is None:
        return True
    key, value = ("store_id", wanted) if isinstance(wanted, int) else wanted
    return bool(order[key] == value)


def local_day(moment: datetime) -> date:
    return (moment + SHANGHAI).date()


def reference_segments(
    data: Generated, start: date, end: date, store_id: Slice
) -> dict[str, tuple[int, int, int]]:
    """(customers, orders, GMV) of new and returning buyers, in plain Python."""
    first_day: dict[int, date] = {}
    for order in data.orders:
        day = local_day(order["paid_at"])
        first_day[order["customer_id"]] = min(day, first_day.get(order["customer_id"], day))
    found: dict[str, tuple[set[int], int, int]] = {
        "new": (set(), 0, 0),
        "returning": (set(), 0, 0),
    }
    for order in data.orders:
        if not start <= local_day(order["paid_at"]) <= end:
            continue
        if not _in_slice(order, store_id):
            continue
        segment = "new" if first_day[order["customer_id"]] >= start else "returning"
        buyers, count, gmv = found[segment]
        buyers.add(order["customer_id"])
        found[segment] = (buyers, count + 1, gmv + order["gmv"])
    return {name: (len(b), count, gmv) for name, (b, count, gmv) in found.items()}


def reference_daily(data: Generated, start: date, end: date, store_id: Slice) -> dict[date, int]:
    daily = {day: 0 for day in days_of(start, end)}
    for order in data.orders:
        day = local_day(order["paid_at"])
        if day in daily and _in_slice(order, store_id):
            daily[day] += order["gmv"]
    return daily


def principal(*roles: Role, store_id: int | None = None) -> Principal:
    return Principal(
        staff_id=None,
        username="planner",
        roles=frozenset(roles),
        permissions=permissions_for(frozenset(roles)),
        store_id=store_id,
    )


@pytest.fixture
def generated(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
) -> Generated:
    frozen_clock.set(NOW)
    with transaction(session_factory) as session:
        data = build_orders(session, random.Random(8))
    export.sync(committed_engine, warehouse, now=NOW)
    return data


def _check_report(data: Generated, report: Any, target: int, store_id: Slice) -> None:
    """Pacing and the behind factor against the reference, computed here directly."""
    pacing = report.pacing
    as_of = TODAY - timedelta(days=1)
    assert pacing.as_of == as_of
    daily = reference_daily(data, PERIOD[0], as_of, store_id)
    plan = report.goal.plan
    running, cumulative_target = 0, 0
    for row, planned in zip(pacing.days, plan.daily, strict=True):
        cumulative_target += planned
        assert (row.target, row.cumulative_target) == (planned, cumulative_target)
        if row.day <= as_of:
            running += daily[row.day]
            assert (row.actual, row.cumulative_actual) == (daily[row.day], running), row.day
            assert row.achieved == (running / cumulative_target if cumulative_target else None)
        else:
            assert row.actual is None
            assert row.cumulative_actual is None
    target_to_date = sum(plan.daily[: (as_of - PERIOD[0]).days + 1])
    assert (pacing.actual_to_date, pacing.target_to_date) == (running, target_to_date)
    assert pacing.gap == running - target_to_date
    assert pacing.projected_end == round(running * target / target_to_date)
    # LMDI written out: each factor's share of the gap, planned customers prorated.
    share = target_to_date / target
    segments = reference_segments(data, PERIOD[0], as_of, store_id)
    expected: dict[tuple[str, str], float] = {}
    for name in ("new", "returning"):
        customers, orders, gmv = segments[name]
        planned_segment = getattr(plan, name)
        before = planned_segment.customers * share * planned_segment.aov * planned_segment.frequency
        pairs = {
            "customers": (customers, planned_segment.customers * share),
            "aov": (gmv / orders if orders else 0.0, planned_segment.aov),
            "frequency": (orders / customers if customers else 0.0, planned_segment.frequency),
        }
        for factor, (actual, planned_value) in pairs.items():
            if before > 0 and gmv > 0 and actual > 0:
                weight = (gmv - before) / (math.log(gmv) - math.log(before))
                expected[(name, factor)] = weight * math.log(actual / planned_value)
            else:
                expected[(name, factor)] = gmv - before if factor == "customers" else 0.0
    got = {(row.segment, row.factor): row.contribution for row in pacing.contributions}
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert math.isclose(got[key], value, rel_tol=1e-9, abs_tol=1e-6), key
    assert math.isclose(sum(got.values()), pacing.gap, rel_tol=1e-9, abs_tol=1e-6)
    worst = min(expected, key=lambda key: expected[key])
    if expected[worst] < 0:
        assert pacing.behind is not None
        assert (pacing.behind.segment, pacing.behind.factor) == worst
    else:
        assert pacing.behind is None


def test_a_derived_goal_equals_the_plain_python_plan_and_pacing(
    generated: Generated, session_factory: sessionmaker[Session], open_test_analytics: OpenAnalytics
) -> None:
    target = 12_345_678
    admin = principal(Role.ADMIN)
    with (
        transaction(session_factory) as session,
        open_test_analytics(session, today=TODAY) as analytics,
    ):
        goal = goals.create_goal(
            session,
            analytics,
            admin,
            GoalCreate(
                name="十一月", target_amount=target, period_start=PERIOD[0], period_end=PERIOD[1]
            ),
        )
        report = goals_pacing.report(analytics, goal)
    plan = report.goal.plan
    # Same period last year sold something, so it is the base.
    base_period = (date(2025, 11, 1), date(2025, 11, 30))
    assert (plan.method, plan.base_start, plan.base_end) == ("derived", *base_period)
    base = reference_segments(generated, *base_period, None)
    assert plan.base_new is not None
    assert plan.base_returning is not None
    assert (plan.base_new.customers, plan.base_new.orders, plan.base_new.gmv) == base["new"]
    assert (
        plan.base_returning.customers,
        plan.base_returning.orders,
        plan.base_returning.gmv,
    ) == base["returning"]
    # Customers scaled by target / base GMV, frequency kept, identity to the fen.
    base_gmv = base["new"][2] + base["returning"][2]
    for name in ("new", "returning"):
        customers, orders, _gmv = base[name]
        planned = getattr(plan, name)
        assert planned.customers == max(round(customers * target / base_gmv), 1)
        assert planned.frequency == orders / customers
        assert math.isclose(planned.customers * planned.aov * planned.frequency, planned.amount)
    assert plan.new.amount + plan.returning.amount == target
    # The spread follows the base's daily shape and adds up exactly.
    days = days_of(*PERIOD)
    base_daily = reference_daily(generated, *base_period, None)
    assert plan.daily == largest_remainder(target, daily_weights(base_daily, days))
    assert sum(plan.daily) == target
    assert sum(row.target for row in report.spread_week) == target
    assert [row.target for row in report.spread_month] == [target]
    _check_report(generated, report, target, None)


def test_a_store_manager_plans_and_sees_only_their_store(
    generated: Generated, session_factory: sessionmaker[Session], open_test_analytics: OpenAnalytics
) -> None:
    store, other = generated.stores
    manager = principal(Role.STORE_MANAGER, store_id=store)
    scope = DataScope(ScopeKind.STORE, store_id=store)
    body = GoalCreate(
        name="门店目标", target_amount=5_000_000, period_start=PERIOD[0], period_end=PERIOD[1]
    )
    with transaction(session_factory) as session:
        with open_test_analytics(session, today=TODAY) as analytics:
            brand = goals.create_goal(session, analytics, principal(Role.ADMIN), body)
            stores_other = goals.create_goal(
                session,
                analytics,
                principal(Role.OPERATOR),
                body.model_copy(
                    update={"slice_dimension": SliceDimension.STORE, "slice_value": other}
                ),
            )
        with open_test_analytics(session, today=TODAY, scope=scope) as analytics:
            own = goals.create_goal(session, analytics, manager, body)
            assert (own.slice_dimension, own.slice_value) == ("store", str(store))
            with pytest.raises(goals.GoalSliceForbidden):
                goals.create_goal(
                    session,
                    analytics,
                    manager,
                    body.model_copy(
                        update={"slice_dimension": SliceDimension.STORE, "slice_value": other}
                    ),
                )
            assert [goal.id for goal in goals.list_goals(session, manager)] == [own.id]
            for hidden in (brand.id, stores_other.id):
                with pytest.raises(AnalyticsObjectNotFound):
                    goals.get_goal(session, manager, hidden)
            report = goals_pacing.report(analytics, own)
        base = reference_segments(generated, date(2025, 11, 1), date(2025, 11, 30), store)
        plan = report.goal.plan
        assert plan.base_new is not None
        assert (plan.base_new.customers, plan.base_new.orders, plan.base_new.gmv) == base["new"]
        _check_report(generated, report, 5_000_000, store)
        # Guides (their own customers) have no goals at all.
        assert goals.list_goals(session, principal(Role.GUIDE)) == []


def test_explicit_factors_updates_and_refusals(
    generated: Generated, session_factory: sessionmaker[Session], open_test_analytics: OpenAnalytics
) -> None:
    admin = principal(Role.ADMIN)
    factors = GoalFactors(
        new_customers=100,
        new_aov=10_000,
        new_frequency=1.0,
        returning_customers=50,
        returning_aov=20_000,
        returning_frequency=2.0,
    )
    body = GoalCreate(
        name="手动",
        target_amount=3_000_000,
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        factors=factors,
    )
    with (
        transaction(session_factory) as session,
        open_test_analytics(session, today=TODAY) as analytics,
    ):
        goal = goals.create_goal(session, analytics, admin, body)
        plan = goals_pacing.goal_out(goal).plan
        assert (plan.method, plan.new.amount, plan.returning.amount) == (
            "explicit",
            1_000_000,
            2_000_000,
        )
        assert (plan.new.customers, plan.new.aov, plan.returning.frequency) == (100, 10_000.0, 2.0)
        refusals: list[tuple[GoalCreate | GoalUpdate, str]] = [
            (body.model_copy(update={"target_amount": 0}), "analytics.goal_invalid_target"),
            (
                body.model_copy(update={"target_amount": 4_000_000}),
                "analytics.goal_factors_inconsistent",
            ),
            (body.model_copy(update={"period_end": date(2026, 10, 1)}), "analytics.invalid_period"),
            (body.model_copy(update={"period_end": date(2027, 12, 1)}), "analytics.invalid_period"),
            (
                body.model_copy(
                    update={"slice_dimension": SliceDimension.STORE, "slice_value": 999_999}
                ),
                "analytics.invalid_slice",
            ),
            (
                body.model_copy(update={"slice_dimension": SliceDimension.STORE}),
                "analytics.invalid_slice",
            ),
        ]
        for refused, code in refusals:
            assert isinstance(refused, GoalCreate)
            with pytest.raises(SiyuError) as caught:
                goals.create_goal(session, analytics, admin, refused)
            assert caught.value.code == code
        # Re-planning: a new target with the same factors is refused, deriving works.
        with pytest.raises(goals.GoalFactorsInconsistent):
            goals.update_goal(
                session, analytics, admin, goal.id, GoalUpdate(target_amount=6_000_000)
            )
        updated = goals.update_goal(
            session, analytics, admin, goal.id, GoalUpdate(target_amount=6_000_000, derive=True)
        )
        plan = goals_pacing.goal_out(updated).plan
        assert (updated.target_amount, plan.method, sum(plan.daily)) == (
            6_000_000,
            "derived",
            6_000_000,
        )
        renamed = goals.update_goal(session, analytics, admin, goal.id, GoalUpdate(name="新名字"))
        assert (renamed.name, renamed.target_amount) == ("新名字", 6_000_000)
        goals.delete_goal(session, admin, goal.id)
        assert goals.list_goals(session, admin) == []


def test_without_base_data_explicit_factors_spread_evenly(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    open_test_analytics: OpenAnalytics,
    frozen_clock: clock.FrozenClock,
) -> None:
    frozen_clock.set(NOW)
    admin = principal(Role.ADMIN)
    body = GoalCreate(
        name="空", target_amount=1_000, period_start=date(2026, 12, 1), period_end=date(2026, 12, 3)
    )
    with (
        transaction(session_factory) as session,
        open_test_analytics(session, today=TODAY) as analytics,
    ):
        with pytest.raises(goals.NotEnoughData):
            goals.create_goal(session, analytics, admin, body)
        factors = GoalFactors(
            new_customers=10,
            new_aov=100,
            new_frequency=1,
            returning_customers=0,
            returning_aov=0,
            returning_frequency=0,
        )
        goal = goals.create_goal(
            session, analytics, admin, body.model_copy(update={"factors": factors})
        )
        report = goals_pacing.report(analytics, goal)
    assert (report.goal.plan.spread, report.goal.plan.daily) == ("even", [334, 333, 333])
    assert report.pacing.as_of is None
    assert report.pacing.behind is None


def test_a_channel_code_goal_counts_only_that_code(
    generated: Generated, session_factory: sessionmaker[Session], open_test_analytics: OpenAnalytics
) -> None:
    body = GoalCreate(
        name="投放目标",
        target_amount=2_000_000,
        period_start=PERIOD[0],
        period_end=PERIOD[1],
        slice_dimension=SliceDimension.CHANNEL_CODE,
        slice_value=generated.channel_code,
    )
    wanted = ("channel_code_id", generated.channel_code)
    with (
        transaction(session_factory) as session,
        open_test_analytics(session, today=TODAY) as analytics,
    ):
        goal = goals.create_goal(session, analytics, principal(Role.OPERATOR), body)
        report = goals_pacing.report(analytics, goal)
    plan = report.goal.plan
    base = reference_segments(generated, date(2025, 11, 1), date(2025, 11, 30), wanted)
    assert plan.base_returning is not None
    assert (
        plan.base_returning.customers,
        plan.base_returning.orders,
        plan.base_returning.gmv,
    ) == base["returning"]
    _check_report(generated, report, 2_000_000, wanted)
