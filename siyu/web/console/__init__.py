"""The operators' console at /console: server-rendered pages, Chinese first."""

from __future__ import annotations

from fastapi import APIRouter

from siyu.web.console import (
    analytics_behaviour_pages,
    analytics_campaigns_pages,
    analytics_clv_pages,
    analytics_goals_pages,
    analytics_metrics_pages,
    assist_pages,
    audience_insights_pages,
    audience_rules_pages,
    audience_tags_pages,
    audiences_pages,
    audit_pages,
    auth_pages,
    bargain_pages,
    campaigns_pages,
    catalog_pages,
    channel_codes_pages,
    conflicts_pages,
    coupons_pages,
    customers_pages,
    dashboard,
    events_pages,
    flash_sale_pages,
    group_buy_pages,
    lottery_pages,
    members_pages,
    orders_pages,
    points_mall_pages,
    referral_pages,
    refunds_pages,
    sections,
    sidebar_pages,
    staff_pages,
    system_pages,
    warehouse_pages,
)


def console_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    for module in (
        auth_pages,
        dashboard,
        staff_pages,
        audit_pages,
        system_pages,
        channel_codes_pages,
        catalog_pages,
        # Conflicts before customers: /console/customers/conflicts is not a customer id.
        conflicts_pages,
        customers_pages,
        sidebar_pages,
        events_pages,
        # Refunds before orders: /console/orders/refunds and /payments are not order numbers.
        refunds_pages,
        orders_pages,
        # Before the members pages: /console/members/points-mall is not a member id.
        points_mall_pages,
        members_pages,
        coupons_pages,
        # The campaign list; each mechanic's pages live under /console/campaigns/<slug>.
        campaigns_pages,
        flash_sale_pages,
        lottery_pages,
        group_buy_pages,
        bargain_pages,
        assist_pages,
        referral_pages,
        # Fixed /console/audiences/rules/* paths before the segment pages.
        audience_rules_pages,
        audience_insights_pages,
        audience_tags_pages,
        audiences_pages,
        warehouse_pages,
        # Goals before the metrics pages: /console/analytics/goals is a fixed path.
        analytics_goals_pages,
        analytics_metrics_pages,
        analytics_behaviour_pages,
        analytics_campaigns_pages,
        analytics_clv_pages,
        # Last: the pages of sections that later issues build.
        sections,
    ):
        router.include_router(module.router)
    return router
