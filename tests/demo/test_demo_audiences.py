"""The demo brand's audiences (siyu.demo.audiences): tags, RFM groups, lifecycle stages,
a dozen non-empty segments and the freshness probe, on a small committed brand."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.demo.audiences import AudiencesSummary, run_audiences, segments, tagging
from siyu.demo.offers import run_offers
from siyu.models.audience import CustomerTagHistory, Segment, SegmentMember, TagGroup
from siyu.models.customer import CustomerIdentity, CustomerTag, Tag, TagKind
from tests.demo.conftest import small_brand

CUSTOMERS = 400
DAYS = 180
RFM_GROUPS = {
    "important_value",
    "important_develop",
    "important_keep",
    "important_retain",
    "general_value",
    "general_develop",
    "general_keep",
    "general_retain",
}
OPS_STAGES = {"new", "active", "dormant", "churned", "recalled"}
AIPL_STAGES = {"aware", "interested", "purchased", "loyal"}


def _build(
    factory: sessionmaker[Session], settings: Settings, *, seed: int = 3
) -> AudiencesSummary:
    with transaction(factory) as session:
        small_brand(session, settings, customers=CUSTOMERS, days=DAYS, seed=11)
    assert run_offers(factory, settings, seed=5) is not None
    summary = run_audiences(factory, settings, seed=seed)
    assert summary is not None
    return summary


def _fingerprint(session: Session) -> dict[str, Any]:
    """Who is in which segment and holds which tag."""
    return {
        "segments": sorted(
            session.execute(
                select(Segment.name, SegmentMember.customer_id).join(
                    SegmentMember, SegmentMember.segment_id == Segment.id
                )
            ).all()
        ),
        "tags": sorted(
            session.execute(
                select(Tag.group_name, Tag.name, CustomerTag.customer_id).join(
                    CustomerTag, CustomerTag.tag_id == Tag.id
                )
            ).all()
        ),
    }


def test_demo_audiences_tags_rfm_stages_and_segments(
    session_factory: sessionmaker[Session], test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    before = frozen_clock.now()
    summary = _build(session_factory, test_settings)
    assert clock.now() == before

    names = [name for name, _d, _r in segments.definitions(now=before, timezone="Asia/Shanghai")]
    assert len(names) >= 12
    assert list(summary.segments) == names
    assert all(size > 0 for size in summary.segments.values()), summary.segments
    # RFM groups and both lifecycle models are present, with known codes only.
    assert set(summary.rfm_groups) <= RFM_GROUPS
    assert len(summary.rfm_groups) >= 6
    # 180 days of history: nobody has gone 180 days without an order yet (churned).
    assert set(summary.ops_stages) == OPS_STAGES - {"churned", "recalled"}
    assert set(summary.aipl_stages) == AIPL_STAGES
    assert sum(summary.aipl_stages.values()) == CUSTOMERS
    assert summary.exported_rows > 0
    # The probe customer reached the lipstick lookers through track → sync → refresh.
    assert summary.freshness is not None
    assert summary.freshness.in_segment
    assert summary.freshness.seconds > 0

    with transaction(session_factory) as session:
        stored = dict(session.execute(select(Segment.name, Segment.member_count)).all())
        assert stored == summary.segments
        members = dict(
            session.execute(
                select(Segment.name, func.count(SegmentMember.customer_id))
                .join(SegmentMember, SegmentMember.segment_id == Segment.id)
                .group_by(Segment.name)
            ).all()
        )
        assert members == summary.segments
        lookers = session.scalars(
            select(Segment.id).where(Segment.name == segments.LIPSTICK_LOOKERS)
        ).one()
        assert session.get(SegmentMember, (lookers, summary.freshness.customer_id)) is not None

        groups = {group.name: group for group in session.scalars(select(TagGroup))}
        assert {name for name, _e, _d in tagging.GROUPS} <= set(groups)
        assert groups[tagging.SKIN].is_exclusive
        assert not groups[tagging.INTERESTS].is_exclusive
        holders = Counter(
            dict(
                session.execute(
                    select(Tag.group_name, func.count(CustomerTag.customer_id))
                    .join(CustomerTag, CustomerTag.tag_id == Tag.id)
                    .group_by(Tag.group_name)
                ).all()
            )
        )
        for group in (tagging.SKIN, tagging.INTERESTS, tagging.SHOPPING, tagging.BEHAVIOUR):
            assert holders[group] > 0, group
        # Manual tags: by the demo operator, with one history row each.
        manual = session.scalar(
            select(func.count())
            .select_from(CustomerTagHistory)
            .where(CustomerTagHistory.source == tagging.SOURCE)
        )
        assert manual == sum(summary.tagged.values()) > 0
        # One skin type per customer (an exclusive group).
        skin_counts = session.execute(
            select(CustomerTag.customer_id, func.count())
            .join(Tag, Tag.id == CustomerTag.tag_id)
            .where(Tag.group_name == tagging.SKIN)
            .group_by(CustomerTag.customer_id)
        ).all()
        assert {count for _c, count in skin_counts} == {1}
        # Rule tags are kept by the refresh: their holders carry the rule's source.
        rule_tags = list(session.scalars(select(Tag).where(Tag.group_name == tagging.BEHAVIOUR)))
        assert {tag.kind for tag in rule_tags} == {TagKind.RULE}
        assert all(tag.customer_count > 0 for tag in rule_tags), [
            (tag.name, tag.customer_count) for tag in rule_tags
        ]
        # The OA follows linked an oa_openid to existing customers.
        oa = session.scalar(
            select(func.count())
            .select_from(CustomerIdentity)
            .where(CustomerIdentity.kind == "oa_openid")
        )
        assert oa == summary.tracked["oa_follows"] > 0

    # A second run adds nothing.
    assert run_audiences(session_factory, test_settings, seed=3) is None


def _settings(directory: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{directory / 'siyu.db'}",
        data_dir=directory / "data",
        secret_key="test-secret-key-" + "x" * 32,
        run_worker=False,
    )


def test_same_seed_same_audiences(tmp_path: Path, frozen_clock: FrozenClock) -> None:
    """One brand (SQLite file), copied; the phase on each copy from the same instant."""
    start: datetime = frozen_clock.now()
    base = _settings(tmp_path / "base")
    (tmp_path / "base").mkdir()
    upgrade(base.database_url)
    engine = make_engine(base.database_url)
    try:
        factory = make_session_factory(engine)
        with transaction(factory) as session:
            small_brand(session, base, customers=200, days=DAYS, seed=11)
        assert run_offers(factory, base, seed=5) is not None
    finally:
        engine.dispose()
    prints = []
    for name in ("first", "second"):
        frozen_clock.set(start)
        (tmp_path / name).mkdir()
        shutil.copy(tmp_path / "base" / "siyu.db", tmp_path / name / "siyu.db")
        settings = _settings(tmp_path / name)
        engine = make_engine(settings.database_url)
        try:
            factory = make_session_factory(engine)
            assert run_audiences(factory, settings, seed=3) is not None
            with factory() as session:
                prints.append(_fingerprint(session))
        finally:
            engine.dispose()
    assert prints[0]["segments"]
    assert prints[0]["tags"]
    assert prints[0] == prints[1]
