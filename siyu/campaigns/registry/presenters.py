"""Shaping registry rows for the operator API, the console and the storefront."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from siyu.campaigns.registry import counters, phases
from siyu.campaigns.registry.schemas import CampaignOut, ShopCampaignOut
from siyu.core import clock
from siyu.models.campaign import Campaign, CampaignKind

# URL slug of each mechanic: console /console/campaigns/<slug>, storefront
# /shop/campaigns/<slug>/<public id>, API /api/v1/campaigns/<slug>.
SLUGS: dict[str, str] = {
    CampaignKind.FLASH_SALE: "flash-sale",
    CampaignKind.GROUP_BUY: "group-buy",
    CampaignKind.BARGAIN: "bargain",
    CampaignKind.ASSIST: "assist",
    CampaignKind.LOTTERY: "lottery",
    CampaignKind.REFERRAL: "referral",
}


def storefront_url(campaign: Campaign) -> str:
    if campaign.kind == CampaignKind.REFERRAL:
        return "/shop/promoter"
    return f"/shop/campaigns/{SLUGS[campaign.kind]}/{campaign.public_id}"


def console_url(campaign: Campaign) -> str:
    return f"/console/campaigns/{SLUGS[campaign.kind]}/{campaign.public_id}"


def campaigns_out(session: Session, rows: Sequence[Campaign]) -> list[CampaignOut]:
    figures = counters.for_campaigns(session, rows)
    now = clock.now()
    return [
        CampaignOut(
            id=row.id,
            public_id=row.public_id,
            name=row.name,
            kind=CampaignKind(row.kind),
            description=row.description,
            touchpoints=list(row.touchpoints),
            lifecycle_stage=row.lifecycle_stage,
            budget_amount=row.budget_amount,
            status=row.status,
            phase=phases.phase_of(row, now).value,
            warmup_at=row.warmup_at,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            closes_at=row.closes_at,
            owner_staff_id=row.owner_staff_id,
            holdout_percent=row.holdout_percent,
            fixed_cost_amount=row.fixed_cost_amount,
            created_by=row.created_by,
            created_at=row.created_at,
            counters=figures.get(row.id, {}),
        )
        for row in rows
    ]


def shop_campaigns_out(rows: Sequence[Campaign]) -> list[ShopCampaignOut]:
    now = clock.now()
    return [
        ShopCampaignOut(
            public_id=row.public_id,
            name=row.name,
            kind=CampaignKind(row.kind),
            description=row.description,
            phase=phases.phase_of(row, now).value,
            warmup_at=row.warmup_at,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            url=storefront_url(row),
        )
        for row in rows
    ]
