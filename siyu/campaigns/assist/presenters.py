"""Shaping assists for the operator API, the storefront and the console."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.assist import assists
from siyu.campaigns.assist.schemas import AssistOut, HelperOut, ShopAssistOut
from siyu.campaigns.bargain.presenters import masked_name, product_of
from siyu.core import clock
from siyu.models.bargain import Assist, AssistDeal, AssistRewardKind
from siyu.models.campaign import Campaign
from siyu.models.coupon import Coupon, CouponTemplate
from siyu.models.customer import Customer
from siyu.models.order import Order


def assist_out(row: Assist) -> AssistOut:
    return AssistOut(
        public_id=row.public_id,
        customer_id=row.customer_id,
        required_assists=row.required_assists,
        assist_count=row.assist_count,
        status=assists.status_of(row),
        expires_at=row.expires_at,
        unlocked_at=row.unlocked_at,
        reward_coupon_id=row.reward_coupon_id,
        order_id=row.order_id,
        claimed_at=row.claimed_at,
        created_at=row.created_at,
    )


def reward_of(session: Session, deal: AssistDeal) -> tuple[str, str | None]:
    """The reward's name and image: the gift's product, or the coupon template's name."""
    if deal.reward_kind == AssistRewardKind.GIFT and deal.gift_sku_id is not None:
        return product_of(session, deal.gift_sku_id)
    template = session.get(CouponTemplate, deal.reward_coupon_template_id)
    return (template.name if template else "优惠券"), None


def share_path(campaign: Campaign, assist: Assist) -> str:
    return f"/shop/campaigns/assist/{campaign.public_id}?assist={assist.public_id}"


def shop_assist_out(session: Session, assist: Assist, viewer_id: int | None) -> ShopAssistOut:
    campaign = session.get(Campaign, assist.campaign_id)
    deal = session.get(AssistDeal, assist.deal_id)
    assert campaign is not None
    assert deal is not None
    reward_name, image = reward_of(session, deal)
    helps = assists.helps_of(session, assist.id)
    names = {
        row.id: row.name
        for row in session.execute(
            select(Customer.id, Customer.name).where(
                Customer.id.in_([help_.helper_customer_id for help_ in helps])
            )
        )
    }
    is_mine = viewer_id == assist.customer_id
    coupon_code = (
        session.scalar(select(Coupon.code).where(Coupon.id == assist.reward_coupon_id))
        if is_mine and assist.reward_coupon_id is not None
        else None
    )
    order_public_id = (
        session.scalar(select(Order.public_id).where(Order.id == assist.order_id))
        if is_mine and assist.order_id is not None
        else None
    )
    return ShopAssistOut(
        public_id=assist.public_id,
        campaign_id=campaign.public_id,
        campaign_name=campaign.name,
        reward_kind=deal.reward_kind,
        reward_name=reward_name,
        image=image,
        required_assists=assist.required_assists,
        assist_count=assist.assist_count,
        status=assists.status_of(assist, clock.now()),
        expires_at=assist.expires_at,
        is_mine=is_mine,
        helped=(
            None
            if viewer_id is None
            else any(help_.helper_customer_id == viewer_id for help_ in helps)
        ),
        reward_coupon_code=coupon_code,
        order_public_id=order_public_id,
        helpers=[
            HelperOut(
                sequence=help_.sequence,
                name=masked_name(names.get(help_.helper_customer_id)),
                created_at=help_.created_at,
            )
            for help_ in helps
        ],
        share_path=share_path(campaign, assist),
    )
