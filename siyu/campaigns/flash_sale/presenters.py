"""Flash sales as the operator API and the console show them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from siyu.campaigns.flash_sale import service
from siyu.campaigns.flash_sale.schemas import FlashSaleOut, ItemOut, SessionOut
from siyu.campaigns.registry import phases
from siyu.core import clock
from siyu.models.campaign import Campaign


def _session_counters(items: list[ItemOut]) -> dict[str, int]:
    return {
        "stock_left": sum(item.stock_left for item in items),
        "reserved": sum(item.reserved for item in items),
        "sold": sum(item.sold for item in items),
    }


def flash_sales_out(session: Session, campaigns: Sequence[Campaign]) -> list[FlashSaleOut]:
    now = clock.now()
    rows = service.sessions_of(session, [campaign.id for campaign in campaigns])
    views = service.item_views(session, service.items_of(session, [row.id for row in rows]))
    figures = service.counters(session, [campaign.id for campaign in campaigns])
    items_by_session: dict[int, list[ItemOut]] = {}
    for view in views:
        items_by_session.setdefault(view.item.session_id, []).append(
            ItemOut(
                public_id=view.item.public_id,
                sku_id=view.item.sku_id,
                product_name=view.product_name,
                specs=view.specs,
                image=view.image,
                list_price=view.list_price,
                campaign_price=view.item.campaign_price,
                starting_stock=view.item.starting_stock,
                stock_left=view.item.stock_left,
                reserved=view.figures.reserved,
                sold=view.figures.sold,
                per_customer_limit=view.item.per_customer_limit,
            )
        )
    sessions_by_campaign: dict[int, list[SessionOut]] = {}
    for row in rows:
        items = items_by_session.get(row.id, [])
        sessions_by_campaign.setdefault(row.campaign_id, []).append(
            SessionOut(
                id=row.id,
                public_id=row.public_id,
                name=row.name,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                phase=service.session_phase(row, now).value,
                stock_engine=row.stock_engine,
                customer_rate_limit=row.customer_rate_limit,
                ip_rate_limit=row.ip_rate_limit,
                items=items,
                counters=_session_counters(items),
            )
        )
    return [
        FlashSaleOut(
            campaign_id=campaign.id,
            campaign_public_id=campaign.public_id,
            name=campaign.name,
            status=campaign.status,
            phase=phases.phase_of(campaign, now).value,
            warmup_at=campaign.warmup_at,
            starts_at=campaign.starts_at,
            ends_at=campaign.ends_at,
            sessions=sessions_by_campaign.get(campaign.id, []),
            counters=figures.get(campaign.id, {}),
        )
        for campaign in campaigns
    ]
