"""Finding the one deal behind a registry campaign, for the mechanics that pair each
campaign with exactly one deal row (bargain, assist): by campaign id, by the public
id the storefront uses, and the latest campaigns with their deals (shaped for
operators by ``with_campaign_outs``)."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.registry import presenters
from siyu.campaigns.registry import service as registry
from siyu.campaigns.registry.schemas import CampaignOut
from siyu.core.errors import NotFound
from siyu.models.bargain import AssistDeal, BargainDeal
from siyu.models.campaign import Campaign, CampaignKind

DealT = TypeVar("DealT", BargainDeal, AssistDeal)


def deal_of(
    session: Session, model: type[DealT], campaign_id: int, not_found: type[NotFound]
) -> DealT:
    deal = session.scalars(select(model).where(model.campaign_id == campaign_id)).first()
    if deal is None:
        raise not_found(data={"campaign_id": campaign_id})
    return deal


def get(
    session: Session,
    model: type[DealT],
    kind: CampaignKind,
    campaign_id: int,
    not_found: type[NotFound],
) -> tuple[Campaign, DealT]:
    campaign = registry.get(session, campaign_id, kind=kind)
    return campaign, deal_of(session, model, campaign.id, not_found)


def get_public(
    session: Session,
    model: type[DealT],
    kind: CampaignKind,
    public_id: str,
    not_found: type[NotFound],
) -> tuple[Campaign, DealT]:
    campaign = registry.get_public(session, public_id, kind=kind)
    return campaign, deal_of(session, model, campaign.id, not_found)


def list_deals(
    session: Session, model: type[DealT], kind: CampaignKind, *, limit: int
) -> list[tuple[Campaign, DealT]]:
    campaigns = registry.list_campaigns(session, kind=kind, limit=limit)
    if not campaigns:
        return []
    deals = {
        deal.campaign_id: deal
        for deal in session.scalars(
            select(model).where(model.campaign_id.in_([c.id for c in campaigns]))
        )
    }
    return [(campaign, deals[campaign.id]) for campaign in campaigns if campaign.id in deals]


def with_campaign_outs(
    session: Session, pairs: list[tuple[Campaign, DealT]]
) -> list[tuple[CampaignOut, DealT]]:
    """Each deal beside its campaign as operators see it (phase, live counters), the
    counters read for all campaigns at once."""
    outs = presenters.campaigns_out(session, [campaign for campaign, _deal in pairs])
    return [(out, deal) for out, (_campaign, deal) in zip(outs, pairs, strict=True)]
