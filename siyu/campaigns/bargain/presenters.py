"""Shaping bargains for the operator API, the storefront and the console."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.bargain import bargains
from siyu.campaigns.bargain.schemas import BargainOut, HelperOut, ShopBargainOut
from siyu.core import clock
from siyu.models.bargain import Bargain, BargainDeal
from siyu.models.campaign import Campaign
from siyu.models.catalog import Product, Sku
from siyu.models.customer import Customer
from siyu.models.order import Order


def bargain_out(row: Bargain) -> BargainOut:
    return BargainOut(
        public_id=row.public_id,
        customer_id=row.customer_id,
        start_price=row.start_price,
        floor_price=row.floor_price,
        current_price=row.current_price,
        helper_count=row.helper_count,
        expected_helpers=row.expected_helpers,
        status=bargains.status_of(row),
        expires_at=row.expires_at,
        reached_at=row.reached_at,
        order_id=row.order_id,
        ordered_price=row.ordered_price,
        purchased_at=row.purchased_at,
        created_at=row.created_at,
    )


def masked_name(name: str | None) -> str:
    """What friends see of a helper: the first character, or 好友."""
    if not name:
        return "好友"
    return name[0] + "*" * min(max(len(name) - 1, 1), 3)


def product_of(session: Session, sku_id: int) -> tuple[str, str | None]:
    row = session.execute(
        select(Product.name, Sku.image, Product.images)
        .join(Product, Product.id == Sku.product_id)
        .where(Sku.id == sku_id)
    ).one()
    images = row.images or []
    return row.name, row.image or (images[0] if images else None)


def share_path(campaign: Campaign, bargain: Bargain) -> str:
    return f"/shop/campaigns/bargain/{campaign.public_id}?bargain={bargain.public_id}"


def shop_bargain_out(session: Session, bargain: Bargain, viewer_id: int | None) -> ShopBargainOut:
    campaign = session.get(Campaign, bargain.campaign_id)
    deal = session.get(BargainDeal, bargain.deal_id)
    assert campaign is not None
    assert deal is not None
    product_name, image = product_of(session, deal.sku_id)
    helps = bargains.helps_of(session, bargain.id)
    names = {
        row.id: row.name
        for row in session.execute(
            select(Customer.id, Customer.name).where(
                Customer.id.in_([help_.helper_customer_id for help_ in helps])
            )
        )
    }
    order_public_id = (
        session.scalar(select(Order.public_id).where(Order.id == bargain.order_id))
        if bargain.order_id is not None
        else None
    )
    is_mine = viewer_id == bargain.customer_id
    return ShopBargainOut(
        public_id=bargain.public_id,
        campaign_id=campaign.public_id,
        campaign_name=campaign.name,
        product_name=product_name,
        image=image,
        start_price=bargain.start_price,
        floor_price=bargain.floor_price,
        current_price=bargain.current_price,
        helper_count=bargain.helper_count,
        expected_helpers=bargain.expected_helpers,
        status=bargains.status_of(bargain, clock.now()),
        expires_at=bargain.expires_at,
        is_mine=is_mine,
        helped=(
            None
            if viewer_id is None
            else any(help_.helper_customer_id == viewer_id for help_ in helps)
        ),
        order_public_id=order_public_id if is_mine else None,
        helpers=[
            HelperOut(
                sequence=help_.sequence,
                name=masked_name(names.get(help_.helper_customer_id)),
                cut_amount=help_.cut_amount,
                price_after=help_.price_after,
                created_at=help_.created_at,
            )
            for help_ in helps
        ],
        share_path=share_path(campaign, bargain),
    )
