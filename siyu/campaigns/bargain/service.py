"""Bargain deals: create one (with its registry campaign, in one transaction), find
them, and their live counters. The bargains themselves: ``siyu.campaigns.bargain.bargains``.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from siyu.campaigns import common_deals
from siyu.campaigns.bargain.errors import DealNotFound, InvalidDeal
from siyu.campaigns.bargain.schemas import DealIn
from siyu.campaigns.registry import service as registry
from siyu.catalog import prices
from siyu.catalog.errors import SkuUnavailable
from siyu.core import clock
from siyu.models.bargain import Bargain, BargainDeal, BargainHelp, BargainStatus
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.catalog import SalesChannel
from siyu.models.coupon import CouponTemplate, TemplateStatus
from siyu.staff import audit
from siyu.staff.principal import Principal

_KIND = CampaignKind.BARGAIN


def create(session: Session, actor: Principal, body: DealIn) -> tuple[Campaign, BargainDeal]:
    """A bargain campaign: the registry row and the deal. The start price is the SKU's
    mall price now; the floor must leave at least one fen per expected helper."""
    try:
        sku = prices.sellable_skus(session, [body.sku_id], channel=SalesChannel.MALL)[body.sku_id]
    except SkuUnavailable as error:
        raise InvalidDeal(
            "The SKU cannot be sold in the mall.",
            data={"field": "sku_id", "reason": error.data.get("reason")},
        ) from error
    start_price = sku.unit_price
    if start_price - body.floor_price < body.expected_helpers:
        raise InvalidDeal(
            "The floor must be at least one fen per expected helper below the price.",
            data={"field": "floor_price", "start_price": start_price},
        )
    template = session.get(CouponTemplate, body.helper_coupon_template_id)
    if template is None or template.status != TemplateStatus.ACTIVE:
        raise InvalidDeal(
            "The helper coupon template must be active.",
            data={"field": "helper_coupon_template_id"},
        )
    campaign = registry.create(session, actor, _KIND, body.campaign, publish=body.publish)
    now = clock.now()
    deal = BargainDeal(
        campaign_id=campaign.id,
        sku_id=body.sku_id,
        start_price=start_price,
        floor_price=body.floor_price,
        expected_helpers=body.expected_helpers,
        daily_help_limit=body.daily_help_limit,
        time_limit_minutes=body.time_limit_minutes,
        helper_coupon_template_id=body.helper_coupon_template_id,
        stock_total=body.stock,
        stock_left=body.stock,
        created_at=now,
        updated_at=now,
    )
    session.add(deal)
    session.flush()
    audit.record(
        session,
        actor,
        "bargain.deal_created",
        target_type="campaign",
        target_id=campaign.id,
        detail={
            "sku_id": body.sku_id,
            "start_price": start_price,
            "floor_price": body.floor_price,
            "expected_helpers": body.expected_helpers,
            "stock": body.stock,
        },
    )
    return campaign, deal


def deal_of(session: Session, campaign_id: int) -> BargainDeal:
    return common_deals.deal_of(session, BargainDeal, campaign_id, DealNotFound)


def get(session: Session, campaign_id: int) -> tuple[Campaign, BargainDeal]:
    return common_deals.get(session, BargainDeal, _KIND, campaign_id, DealNotFound)


def get_public(session: Session, public_id: str) -> tuple[Campaign, BargainDeal]:
    return common_deals.get_public(session, BargainDeal, _KIND, public_id, DealNotFound)


def list_deals(session: Session, *, limit: int = 200) -> list[tuple[Campaign, BargainDeal]]:
    return common_deals.list_deals(session, BargainDeal, _KIND, limit=limit)


def counters(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Started, completed (floor reached), purchased, helps, helper benefits issued
    and units left, per campaign, in one query (benefits as a correlated subquery)."""
    if not campaign_ids:
        return {}
    benefits = (
        select(func.count(BargainHelp.coupon_id))
        .join(Bargain, Bargain.id == BargainHelp.bargain_id)
        .where(Bargain.deal_id == BargainDeal.id)
        .correlate(BargainDeal)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            BargainDeal.campaign_id,
            BargainDeal.stock_left,
            func.count(Bargain.id).label("started"),
            func.coalesce(func.sum(case((Bargain.reached_at.is_not(None), 1), else_=0)), 0).label(
                "completed"
            ),
            func.coalesce(
                func.sum(case((Bargain.status == BargainStatus.PURCHASED.value, 1), else_=0)), 0
            ).label("purchased"),
            func.coalesce(func.sum(Bargain.helper_count), 0).label("helps"),
            benefits.label("helper_benefits"),
        )
        .outerjoin(Bargain, Bargain.deal_id == BargainDeal.id)
        .where(BargainDeal.campaign_id.in_(campaign_ids))
        .group_by(BargainDeal.id, BargainDeal.campaign_id, BargainDeal.stock_left)
    )
    return {
        row.campaign_id: {
            "bargains_started": int(row.started),
            "bargains_completed": int(row.completed),
            "bargains_purchased": int(row.purchased),
            "bargain_helps": int(row.helps),
            "helper_benefits": int(row.helper_benefits or 0),
            "bargain_stock_left": int(row.stock_left),
        }
        for row in rows
    }
