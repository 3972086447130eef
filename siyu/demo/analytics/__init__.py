"""The demo brand's analytics: campaign economics, a revenue goal, CLV and a summary.

Runs after the audiences phase (the warehouse is exported and traits computed). The
brand's history already holds what the dashboards read — channel-coded acquisition,
funnel events (product view → add to cart → checkout → paid), refunds, guides, stores
and the campaigns phase's campaigns — so this phase adds only what an operator would
enter: holdouts and fixed costs on some campaigns (``campaigns``), a revenue goal for
the current month through the goals service, and a CLV fit through the CLV service.
Then it reads the dashboards' headline figures through the analytics services
(``headline``). The phase runs only while no revenue goal exists, so a second
``siyu demo`` adds nothing. See docs/demo.md.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics import goals
from siyu.analytics.clv import service as clv_service
from siyu.analytics.connection import open_analytics
from siyu.analytics.errors import NotEnoughData
from siyu.analytics.goals_schemas import GoalCreate
from siyu.core import clock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import Settings
from siyu.demo.analytics import campaigns, headline
from siyu.models.analytics import RevenueGoal
from siyu.staff.principal import command_line_principal
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse

DEFAULT_SEED = 42
PHASE = "analytics"
STEPS = 5
# The month's target: the last 30 days' pace over the month, plus this much growth.
GOAL_GROWTH = 1.10
Progress = Callable[[str, int, int], None]


@dataclass
class AnalyticsSummary:
    seconds: float
    holdout_campaigns: list[str]
    costed_campaigns: int
    fixed_costs: int  # fen, over every campaign
    goal_name: str
    goal_target: int  # fen
    clv_customers: int  # customers scored (0 when the brand is too small to fit)
    headline: headline.Headline
    steps: dict[str, float] = field(default_factory=dict)


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


def month_of(day: date) -> tuple[date, date]:
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def _create_goal(
    session: Session, warehouse: Warehouse, settings: Settings, today: date
) -> RevenueGoal:
    """This month's revenue goal through the goals service (plan from its base period)."""
    actor = command_line_principal("demo-setup")
    scope = DataScope(ScopeKind.ALL)
    start, end = month_of(today)
    with open_analytics(
        warehouse, session, scope=scope, timezone=settings.timezone, today=today
    ) as analytics:
        recent = headline.last_30_days_gmv(analytics, today)
        days = (end - start).days + 1
        # Rounded to ¥100 (10,000 fen), at least ¥100: a goal must be positive.
        target = max(10_000, round(recent / 30 * days * GOAL_GROWTH / 10_000) * 10_000)
        body = GoalCreate(
            name=f"{start:%Y年%m月} GMV 目标",
            target_amount=target,
            period_start=start,
            period_end=end,
        )
        return goals.create_goal(session, analytics, actor, body)


def run_analytics(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    progress: Progress = _quiet,
) -> AnalyticsSummary | None:
    """Build the demo analytics; None when a revenue goal already exists."""
    started = time.perf_counter()
    with factory() as session:
        if session.scalar(select(func.count()).select_from(RevenueGoal)):
            return None
        bind = session.get_bind()
    engine: Engine = bind if isinstance(bind, Engine) else bind.engine
    warehouse = Warehouse.from_settings(settings)
    rng = random.Random(f"{seed}:analytics")
    now = clock.now()
    today = now.astimezone(ZoneInfo(settings.timezone)).date()
    steps: dict[str, float] = {}

    progress(PHASE, 0, STEPS)
    mark = time.perf_counter()
    with transaction(factory) as session:
        economics = campaigns.configure(session, rng)
    # Incremental: picks up anything written since the audiences phase's export.
    export.sync(engine, warehouse, now=clock.now())
    steps["campaigns_and_sync"] = time.perf_counter() - mark

    progress(PHASE, 1, STEPS)
    mark = time.perf_counter()
    with transaction(factory) as session:
        goal = _create_goal(session, warehouse, settings, today)
        goal_name, goal_target = goal.name, goal.target_amount
    steps["goal"] = time.perf_counter() - mark

    progress(PHASE, 2, STEPS)
    mark = time.perf_counter()
    scored = 0
    try:
        with transaction(factory) as session:
            result = clv_service.fit_and_score(
                session,
                warehouse,
                model="bgnbd",
                now=now,
                actor="demo-setup",
                timezone=settings.timezone,
            )
            scored = result.customers_scored
    except NotEnoughData:
        # A tiny brand (tests, --customers 20) has too few buyers to fit: no CLV then.
        scored = 0
    steps["clv"] = time.perf_counter() - mark

    progress(PHASE, 3, STEPS)
    mark = time.perf_counter()
    with factory() as session:
        figures = headline.read(session, warehouse, settings.timezone, today)
    steps["headline"] = time.perf_counter() - mark
    progress(PHASE, STEPS, STEPS)
    return AnalyticsSummary(
        seconds=time.perf_counter() - started,
        holdout_campaigns=economics.holdout_campaigns,
        costed_campaigns=economics.costed_campaigns,
        fixed_costs=economics.fixed_costs,
        goal_name=goal_name,
        goal_target=goal_target,
        clv_customers=scored,
        headline=figures,
        steps=steps,
    )


def build_demo_analytics(
    settings: Settings, progress: Progress = _quiet, *, seed: int = DEFAULT_SEED
) -> AnalyticsSummary | None:
    engine = make_engine(settings.database_url)
    try:
        return run_analytics(make_session_factory(engine), settings, seed=seed, progress=progress)
    finally:
        engine.dispose()


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:,.0f}"


def summary_lines(summary: AnalyticsSummary) -> list[str]:
    """What `siyu demo` prints about the analytics phase and the brand's headline figures."""
    figures = summary.headline
    period = f"{figures.period.start:%m-%d}–{figures.period.end:%m-%d}"
    lines = [
        f"demo analytics: {summary.costed_campaigns} campaigns costed "
        f"({_yuan(summary.fixed_costs)} fixed), {len(summary.holdout_campaigns)} with a "
        f"holdout; goal {summary.goal_name} {_yuan(summary.goal_target)}; "
        f"CLV scored {summary.clv_customers:,} customers; in {summary.seconds:.1f} s",
        f"  GMV last 30 days ({period}): {_yuan(figures.gmv)} from {figures.orders:,} orders "
        f"by {figures.buyers:,} buyers",
    ]
    if figures.driver is not None:
        lines.append(
            f"  driver tree: GMV {'+' if figures.gmv_change >= 0 else '−'}"
            f"{_yuan(abs(figures.gmv_change))} vs the 30 days before; largest factor "
            f"{figures.driver} ({'+' if figures.driver_contribution >= 0 else '−'}"
            f"{_yuan(abs(figures.driver_contribution))})"
        )
    if figures.top_channel is not None:
        lines.append(
            f"  top channel (last touch): {figures.top_channel} "
            f"{_yuan(figures.top_channel_gmv)} ({figures.top_channel_share:.0%} of GMV)"
        )
    gap = ""
    if figures.missing_example is not None:
        touchpoint, stage, audience = figures.missing_example
        gap = f", e.g. {touchpoint} × {stage}: {audience:,} customers left alone"
    lines.append(
        f"  diagnosis grid: {figures.missing_cells} of {figures.cells} cells 缺失 "
        f"(no campaign){gap}"
    )
    return lines
