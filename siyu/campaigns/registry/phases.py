"""A campaign's phase, derived from its status, its dates and the clock.

Stored status says only what an operator decided (draft / published / cancelled);
the phase follows from the dates so it never needs a job to flip it and can never
be stale. Every mechanic asks :func:`require_live` before taking part.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from siyu.campaigns.registry.errors import (
    CampaignEnded,
    CampaignNotAvailable,
    CampaignNotStarted,
)
from siyu.core import clock
from siyu.models.campaign import Campaign, CampaignStatus


class Phase(StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"  # published, before its warm-up
    WARM_UP = "warm_up"  # 预热: visible with a countdown, no entries yet
    LIVE = "live"
    CLOSING = "closing"  # no new entries; orders finish, groups settle
    ENDED = "ended"
    CANCELLED = "cancelled"


def phase_of(campaign: Campaign, at: datetime | None = None) -> Phase:
    now = at or clock.now()
    if campaign.status == CampaignStatus.DRAFT:
        return Phase.DRAFT
    if campaign.status == CampaignStatus.CANCELLED:
        return Phase.CANCELLED
    if now < campaign.starts_at:
        warmup = campaign.warmup_at
        return Phase.WARM_UP if warmup is not None and now >= warmup else Phase.SCHEDULED
    if now < campaign.ends_at:
        return Phase.LIVE
    closes = campaign.closes_at or campaign.ends_at
    return Phase.CLOSING if now < closes else Phase.ENDED


def is_visible(campaign: Campaign, at: datetime | None = None) -> bool:
    """Shown to customers: warm-up, live and closing (results, a group's last minutes)."""
    return phase_of(campaign, at) in (Phase.WARM_UP, Phase.LIVE, Phase.CLOSING)


def require_live(campaign: Campaign, at: datetime | None = None) -> None:
    """Raise the customer-facing error unless the campaign takes entries now."""
    phase = phase_of(campaign, at)
    if phase == Phase.LIVE:
        return
    data = {
        "campaign": campaign.public_id,
        "phase": phase.value,
        "starts_at": campaign.starts_at.isoformat(),
        "ends_at": campaign.ends_at.isoformat(),
    }
    if phase in (Phase.SCHEDULED, Phase.WARM_UP):
        raise CampaignNotStarted(data=data)
    if phase in (Phase.CLOSING, Phase.ENDED):
        raise CampaignEnded(data=data)
    raise CampaignNotAvailable(data=data)
