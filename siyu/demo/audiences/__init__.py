"""The demo brand's audiences: tags, RFM groups, lifecycle stages and saved segments.

Runs after the campaigns phase, through the real services: the audience settings
(defaults, saved so the console shows them), tag groups with manual tags on a seeded
share of customers (by the demo operator) and three rule tags, the tracked events
the brand's history lacks (OA follows, subscribe opt-ins, lipstick lookers — see
``behaviour``), a dozen saved segments, then a warehouse export and a full
``refresh_all`` (traits, RFM, lifecycle, rule tags, segments). Last, it measures
freshness — a tracked event until its customer is in a segment (``freshness``).
The phase runs only while no segment exists, so a second ``siyu demo`` adds
nothing. See docs/demo.md.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from siyu import handlers as registry
from siyu.audiences import config, refresh
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.settings import Settings
from siyu.demo.audiences import behaviour, freshness, people, segments, tagging
from siyu.models.audience import CustomerTrait, Segment
from siyu.staff.principal import command_line_principal
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse

DEFAULT_SEED = 42
PHASE = "audiences"
STEPS = 5
Progress = Callable[[str, int, int], None]


@dataclass
class AudiencesSummary:
    seconds: float
    tagged: dict[str, int]  # "<group>/<tag>" → customers (manual tags)
    tracked: dict[str, int]  # events added by kind
    exported_rows: int
    segments: dict[str, int]  # name → members
    rfm_groups: dict[str, int]
    ops_stages: dict[str, int]
    aipl_stages: dict[str, int]
    refresh_seconds: float
    freshness: freshness.Freshness | None
    steps: dict[str, float] = field(default_factory=dict)


def _quiet(_phase: str, _done: int, _total: int) -> None:
    return None


def _distribution(session: Session, column: InstrumentedAttribute[str | None]) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count()).where(column.is_not(None)).group_by(column)
    ).all()
    return {str(value): int(count) for value, count in rows}


def run_audiences(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    seed: int = DEFAULT_SEED,
    progress: Progress = _quiet,
) -> AudiencesSummary | None:
    """Build the demo audiences; None when a segment already exists."""
    registry.load_all()
    started = time.perf_counter()
    with factory() as session:
        if session.scalar(select(func.count()).select_from(Segment)):
            return None
    rng = random.Random(f"{seed}:audiences")
    actor = command_line_principal("demo-setup")
    cipher = PiiCipher(settings.resolved_secret_key())
    wh = Warehouse.from_settings(settings)
    with factory() as session:
        bind = session.get_bind()
    engine: Engine = bind if isinstance(bind, Engine) else bind.engine
    steps: dict[str, float] = {}
    now = clock.now()

    progress(PHASE, 0, STEPS)
    mark = time.perf_counter()
    with transaction(factory) as session:
        config.save(session, config.load(session), actor)
        crowd = people.load(session, now=now)
        tagged = tagging.build_tags(session, actor, crowd, rng, now=now)
        tracked = behaviour.track_behaviour(session, cipher, crowd, rng, now=now)
        saved = segments.create_segments(session, actor, now=now, timezone=settings.timezone)
        lookers_id = next(s.id for s in saved if s.name == segments.LIPSTICK_LOOKERS)
    steps["tags_events_segments"] = time.perf_counter() - mark

    progress(PHASE, 1, STEPS)
    mark = time.perf_counter()
    synced = export.sync(engine, wh, now=clock.now())
    steps["warehouse_sync"] = time.perf_counter() - mark

    progress(PHASE, 2, STEPS)
    mark = time.perf_counter()
    with transaction(factory) as session:
        refresh.refresh_all(session, wh, now=clock.now())
    steps["refresh_all"] = time.perf_counter() - mark

    progress(PHASE, 3, STEPS)
    mark = time.perf_counter()
    fresh = freshness.measure(factory, engine, wh, cipher, crowd, rng, segment_id=lookers_id)
    steps["freshness"] = time.perf_counter() - mark

    progress(PHASE, 4, STEPS)
    with factory() as session:
        sizes = {
            segment.name: segment.member_count
            for segment in session.scalars(select(Segment).order_by(Segment.id))
        }
        summary = AudiencesSummary(
            seconds=0.0,
            tagged=tagged,
            tracked=tracked,
            exported_rows=sum(synced.rows.values()),
            segments=sizes,
            rfm_groups=_distribution(session, CustomerTrait.rfm_group),
            ops_stages=_distribution(session, CustomerTrait.ops_stage),
            aipl_stages=_distribution(session, CustomerTrait.aipl_stage),
            refresh_seconds=steps["refresh_all"],
            freshness=fresh,
            steps=steps,
        )
    progress(PHASE, STEPS, STEPS)
    summary.seconds = time.perf_counter() - started
    return summary


def build_demo_audiences(
    settings: Settings, progress: Progress = _quiet, *, seed: int = DEFAULT_SEED
) -> AudiencesSummary | None:
    engine = make_engine(settings.database_url)
    try:
        return run_audiences(make_session_factory(engine), settings, seed=seed, progress=progress)
    finally:
        engine.dispose()
