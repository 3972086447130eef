"""Assist deals: create one (with its registry campaign, in one transaction), find
them, and their live counters. The assists themselves: ``siyu.campaigns.assist.assists``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from siyu.campaigns import common_deals
from siyu.campaigns.assist.errors import DealNotFound, InvalidDeal
from siyu.campaigns.assist.schemas import DealIn
from siyu.campaigns.registry import service as registry
from siyu.catalog import prices
from siyu.catalog.errors import SkuUnavailable
from siyu.core import clock
from siyu.models.bargain import Assist, AssistDeal, AssistHelp, AssistRewardKind, AssistStatus
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.catalog import SalesChannel
from siyu.models.coupon import CouponTemplate, TemplateStatus
from siyu.staff import audit
from siyu.staff.principal import Principal

_KIND = CampaignKind.ASSIST


def _check_template(session: Session, template_id: int | None, field: str) -> None:
    template = session.get(CouponTemplate, template_id) if template_id is not None else None
    if template is None or template.status != TemplateStatus.ACTIVE:
        raise InvalidDeal("The coupon template must be active.", data={"field": field})


def _check_reward(session: Session, body: DealIn) -> None:
    if body.reward_kind == AssistRewardKind.COUPON:
        if body.gift_sku_id is not None:
            raise InvalidDeal("A coupon reward names no gift.", data={"field": "gift_sku_id"})
        _check_template(session, body.reward_coupon_template_id, "reward_coupon_template_id")
        return
    if body.gift_sku_id is None or body.reward_coupon_template_id is not None:
        raise InvalidDeal("A gift reward names a SKU and no coupon.", data={"field": "gift_sku_id"})
    try:
        prices.sellable_skus(session, [body.gift_sku_id], channel=SalesChannel.MALL)
    except SkuUnavailable as error:
        raise InvalidDeal(
            "The gift cannot be sold in the mall.",
            data={"field": "gift_sku_id", "reason": error.data.get("reason")},
        ) from error


def create(session: Session, actor: Principal, body: DealIn) -> tuple[Campaign, AssistDeal]:
    _check_reward(session, body)
    _check_template(session, body.helper_coupon_template_id, "helper_coupon_template_id")
    campaign = registry.create(session, actor, _KIND, body.campaign, publish=body.publish)
    now = clock.now()
    deal = AssistDeal(
        campaign_id=campaign.id,
        required_assists=body.required_assists,
        reward_kind=body.reward_kind.value,
        reward_coupon_template_id=body.reward_coupon_template_id,
        gift_sku_id=body.gift_sku_id,
        reward_stock_total=body.reward_stock,
        reward_stock_left=body.reward_stock,
        daily_help_limit=body.daily_help_limit,
        time_limit_minutes=body.time_limit_minutes,
        helper_coupon_template_id=body.helper_coupon_template_id,
        created_at=now,
        updated_at=now,
    )
    session.add(deal)
    session.flush()
    audit.record(
        session,
        actor,
        "assist.deal_created",
        target_type="campaign",
        target_id=campaign.id,
        detail={
            "required_assists": body.required_assists,
            "reward_kind": body.reward_kind.value,
            "reward_stock": body.reward_stock,
        },
    )
    return campaign, deal


def deal_of(session: Session, campaign_id: int) -> AssistDeal:
    return common_deals.deal_of(session, AssistDeal, campaign_id, DealNotFound)


def get(session: Session, campaign_id: int) -> tuple[Campaign, AssistDeal]:
    return common_deals.get(session, AssistDeal, _KIND, campaign_id, DealNotFound)


def get_public(session: Session, public_id: str) -> tuple[Campaign, AssistDeal]:
    return common_deals.get_public(session, AssistDeal, _KIND, public_id, DealNotFound)


def list_deals(session: Session, *, limit: int = 200) -> list[tuple[Campaign, AssistDeal]]:
    return common_deals.list_deals(session, AssistDeal, _KIND, limit=limit)


def counters(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Started, unlocked, claimed, helps, helper benefits and rewards left per campaign."""
    if not campaign_ids:
        return {}
    benefits = (
        select(func.count(AssistHelp.coupon_id))
        .join(Assist, Assist.id == AssistHelp.assist_id)
        .where(Assist.deal_id == AssistDeal.id)
        .correlate(AssistDeal)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            AssistDeal.campaign_id,
            AssistDeal.reward_stock_left,
            func.count(Assist.id).label("started"),
            func.coalesce(func.sum(case((Assist.unlocked_at.is_not(None), 1), else_=0)), 0).label(
                "unlocked"
            ),
            func.coalesce(
                func.sum(case((Assist.status == AssistStatus.CLAIMED.value, 1), else_=0)), 0
            ).label("claimed"),
            func.coalesce(func.sum(Assist.assist_count), 0).label("helps"),
            benefits.label("helper_benefits"),
        )
        .outerjoin(Assist, Assist.deal_id == AssistDeal.id)
        .where(AssistDeal.campaign_id.in_(campaign_ids))
        .group_by(AssistDeal.id, AssistDeal.campaign_id, AssistDeal.reward_stock_left)
    )
    return {
        row.campaign_id: {
            "assists_started": int(row.started),
            "assists_unlocked": int(row.unlocked),
            "assist_rewards_claimed": int(row.claimed),
            "assist_helps": int(row.helps),
            "helper_benefits": int(row.helper_benefits or 0),
            "assist_rewards_left": int(row.reward_stock_left),
        }
        for row in rows
    }
