"""The campaign registry: phases from dates, edits that lock once live, publish and
cancel, the holdout hash, and the shop list of what is on now."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.registry import phases, service
from siyu.campaigns.registry.errors import (
    CampaignEnded,
    CampaignLocked,
    CampaignNotAvailable,
    CampaignNotStarted,
    CampaignStateConflict,
    InvalidCampaign,
)
from siyu.campaigns.registry.schemas import CampaignFields, CampaignUpdate
from siyu.core.clock import FrozenClock
from siyu.models.campaign import Campaign, CampaignKind, CampaignStatus, LifecycleStage
from siyu.models.staff import AuditLog
from tests.campaigns.registry.factories import make_campaign
from tests.factories import make_staff, principal_of

pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_the_phase_follows_the_dates(session: Session, frozen_clock: FrozenClock) -> None:
    campaign = make_campaign(session, closing=timedelta(hours=6))
    expected = [
        (timedelta(0), phases.Phase.SCHEDULED),
        (timedelta(hours=12), phases.Phase.WARM_UP),
        (timedelta(hours=12), phases.Phase.LIVE),
        (timedelta(days=2) - timedelta(seconds=1), phases.Phase.LIVE),
        (timedelta(seconds=1), phases.Phase.CLOSING),
        (timedelta(hours=6), phases.Phase.ENDED),
    ]
    for step, phase in expected:
        frozen_clock.advance(step)
        assert phases.phase_of(campaign) == phase


def test_require_live_names_the_reason(session: Session, frozen_clock: FrozenClock) -> None:
    campaign = make_campaign(session)
    with pytest.raises(CampaignNotStarted) as raised:
        phases.require_live(campaign)
    assert raised.value.data["phase"] == "scheduled"
    assert raised.value.status == 409
    frozen_clock.advance(timedelta(days=1, hours=1))
    phases.require_live(campaign)
    frozen_clock.advance(timedelta(days=3))
    with pytest.raises(CampaignEnded):
        phases.require_live(campaign)
    draft = make_campaign(session, publish=False, starts_in=timedelta(days=-5))
    with pytest.raises(CampaignNotAvailable):
        phases.require_live(draft)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"touchpoints": ["moon"]}, "touchpoints"),
        ({"ends_at": "start"}, "ends_at"),
        ({"warmup_at": "after_start"}, "warmup_at"),
        ({"closes_at": "before_end"}, "closes_at"),
    ],
)
def test_invalid_campaigns_are_refused_and_nothing_is_written(
    session: Session, changes: dict[str, object], field: str
) -> None:
    staff = make_staff(session)
    before = session.scalar(select(func.count()).select_from(Campaign))
    start = make_campaign(session, staff=staff).starts_at
    base = {
        "name": "x",
        "lifecycle_stage": LifecycleStage.ACQUIRE,
        "starts_at": start,
        "ends_at": start + timedelta(days=1),
    }
    moments = {
        "start": start,
        "after_start": start + timedelta(hours=1),
        "before_end": start + timedelta(hours=1),
    }
    base.update({key: moments.get(str(value), value) for key, value in changes.items()})
    with pytest.raises(InvalidCampaign) as raised:
        service.create(
            session, principal_of(staff), CampaignKind.BARGAIN, CampaignFields.model_validate(base)
        )
    assert raised.value.data["field"] == field
    assert session.scalar(select(func.count()).select_from(Campaign)) == (before or 0) + 1


def test_dates_and_holdout_lock_once_live(session: Session, frozen_clock: FrozenClock) -> None:
    staff = make_staff(session)
    campaign = make_campaign(session, staff=staff)
    actor = principal_of(staff)
    later = campaign.starts_at + timedelta(hours=2)
    service.update(session, actor, campaign, CampaignUpdate(starts_at=later))
    assert campaign.starts_at == later
    frozen_clock.set(later + timedelta(minutes=1))
    with pytest.raises(CampaignLocked) as raised:
        service.update(session, actor, campaign, CampaignUpdate(holdout_percent=10))
    assert raised.value.data["field"] == "holdout_percent"
    assert campaign.holdout_percent == 0
    # The end may move while live (an operator extends a good campaign).
    service.update(
        session, actor, campaign, CampaignUpdate(ends_at=campaign.ends_at + timedelta(days=1))
    )
    actions = session.scalars(
        select(AuditLog.action)
        .where(AuditLog.target_type == "campaign", AuditLog.target_id == str(campaign.id))
        .order_by(AuditLog.id)
    ).all()
    assert actions == ["campaign.created", "campaign.updated", "campaign.updated"]


def test_publish_and_cancel(session: Session, frozen_clock: FrozenClock) -> None:
    staff = make_staff(session)
    actor = principal_of(staff)
    campaign = make_campaign(session, staff=staff, publish=False)
    assert phases.phase_of(campaign) == phases.Phase.DRAFT
    service.publish(session, actor, campaign)
    assert campaign.status == CampaignStatus.PUBLISHED
    with pytest.raises(CampaignStateConflict):
        service.publish(session, actor, campaign)
    service.cancel(session, actor, campaign, reason="预算调整")
    assert phases.phase_of(campaign) == phases.Phase.CANCELLED
    with pytest.raises(CampaignStateConflict):
        service.cancel(session, actor, campaign, reason="again")
    late = make_campaign(session, staff=staff, publish=False)
    frozen_clock.advance(timedelta(days=10))
    with pytest.raises(InvalidCampaign):
        service.publish(session, actor, late)
    assert late.status == CampaignStatus.DRAFT


def test_the_holdout_is_stable_and_near_its_share(session: Session) -> None:
    campaign = make_campaign(session, holdout_percent=20)
    held = [customer for customer in range(1, 5001) if service.in_holdout(campaign, customer)]
    assert 900 <= len(held) <= 1100
    assert held == [c for c in range(1, 5001) if service.in_holdout(campaign, c)]
    none = make_campaign(session, holdout_percent=0)
    assert not any(service.in_holdout(none, customer) for customer in range(1, 1000))


def test_visible_lists_warm_up_live_and_closing_only(
    session: Session, frozen_clock: FrozenClock
) -> None:
    scheduled = make_campaign(session, starts_in=timedelta(days=5))
    warming = make_campaign(session, starts_in=timedelta(hours=2))
    live = make_campaign(session, starts_in=timedelta(hours=-1))
    closing = make_campaign(
        session, starts_in=timedelta(days=-3), lasts=timedelta(days=2), closing=timedelta(days=2)
    )
    ended = make_campaign(session, starts_in=timedelta(days=-3), lasts=timedelta(days=1))
    draft = make_campaign(session, starts_in=timedelta(hours=-1), publish=False)
    shown = {row.id for row in service.visible(session)}
    assert {warming.id, live.id, closing.id} <= shown
    assert not {scheduled.id, ended.id, draft.id} & shown
