"""Shaping group-buy campaigns for the operator API and the console."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from siyu.campaigns.group_buy import deals, reads
from siyu.campaigns.group_buy.schemas import CampaignSummary, DealOut, GroupBuyOut
from siyu.campaigns.registry import phases
from siyu.models.campaign import Campaign


def summary(campaign: Campaign) -> CampaignSummary:
    return CampaignSummary(
        id=campaign.id,
        public_id=campaign.public_id,
        name=campaign.name,
        status=campaign.status,
        phase=phases.phase_of(campaign).value,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        closes_at=campaign.closes_at,
    )


def group_buys(session: Session, campaigns: Sequence[Campaign]) -> list[GroupBuyOut]:
    ids = [campaign.id for campaign in campaigns]
    by_campaign = deals.deals_of(session, ids)
    figures = reads.counters(session, ids)
    return [
        GroupBuyOut(
            campaign=summary(campaign),
            deals=[DealOut.model_validate(deal) for deal in by_campaign[campaign.id]],
            counters=figures.get(campaign.id, {}),
        )
        for campaign in campaigns
    ]
