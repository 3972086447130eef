"""Campaign ROI: what each registered campaign cost against the GMV credited to it,
and — with a holdout — the GMV it added per targeted customer (docs/analytics-campaigns.md).

Revenue is the campaign's attributed GMV under the chosen attribution model (dimension
``campaign``). Costs are read from the system of record (the warehouse does not carry
price breakdowns, coupon references, commissions or draws) for the campaign's own
orders, i.e. the paid orders of the period whose recorded ``campaign_id`` is the
campaign, within the caller's data scope:

- campaign discount: what the ``campaign_price`` pricing step took off their lines;
- coupons: coupons redeemed on them, at the face value they took off, except coupons
  a lottery granted (their value is already counted as a prize);
- points: points earned on them, at their cash value (``points_value`` points = ¥1);
- commissions: referral commissions of the campaign created in the period, less what
  refunds reversed;
- prizes: ``value_amount`` of the campaign's won lottery draws in the period;
- fixed: ``Campaign.fixed_cost_amount`` entered by the operator, counted in full.

siyu stores no product cost, so gross margin here is attributed GMV less the
campaign's costs (what the campaign kept after paying for itself), not a COGS margin.
ROI = (attributed GMV − cost) / cost, undefined (None) when nothing was spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.analytics.attribution import (
    AttributionDimension,
    AttributionModel,
    attribute,
    period_orders_sql,
)
from siyu.analytics.connection import Analytics
from siyu.analytics.errors import AnalyticsObjectNotFound
from siyu.analytics.period import Period
from siyu.analytics.roi_holdout import HoldoutComparison, daily_by_group, holdout_comparison
from siyu.campaigns.registry import service as registry
from siyu.core import clock
from siyu.members import program
from siyu.models.campaign import Campaign, CampaignStatus
from siyu.models.coupon import Coupon
from siyu.models.customer import Customer
from siyu.models.lottery import DrawOutcome, LotteryDraw
from siyu.models.member import PointsEntry, PointsEntryKind
from siyu.models.order import Order, OrderLine
from siyu.models.referral import Commission
from siyu.orders.pricing.pipeline import CAMPAIGN_PRICE
from siyu.staff import audit
from siyu.staff.principal import Principal
from siyu.staff.scope import DataScope, ScopeKind

LOTTERY_COUPON_PREFIX = "lottery:"


@dataclass(frozen=True)
class CampaignCosts:
    campaign_discount: int = 0
    coupons: int = 0
    points: int = 0
    commissions: int = 0
    prizes: int = 0
    fixed: int = 0

    @property
    def total(self) -> int:
        return (
            self.campaign_discount
            + self.coupons
            + self.points
            + self.commissions
            + self.prizes
            + self.fixed
        )


@dataclass(frozen=True)
class CampaignRoi:
    campaign_id: int
    public_id: str
    name: str
    kind: str
    status: str
    lifecycle_stage: str
    touchpoints: list[str]
    starts_at: datetime
    ends_at: datetime
    costs: CampaignCosts
    attributed_gmv: int  # fen, under the chosen model
    attributed_orders: float
    orders: int  # paid orders of the period recorded with this campaign
    participants: int  # customers with one of those orders or a tracked event of it
    gross_margin: int  # attributed GMV − costs
    roi: float | None
    holdout: HoldoutComparison | None = None


@dataclass
class CampaignDetail:
    campaign: CampaignRoi
    days: list[dict[str, Any]] = field(default_factory=list)  # day, treatment, holdout


def order_scope_sql(statement: Any, scope: DataScope) -> Any:
    """The OLTP twin of the analytics order scope (store manager → store, guide → own)."""
    if scope.kind is ScopeKind.STORE:
        return statement.where(Order.store_id == scope.store_id)
    if scope.kind is ScopeKind.OWN:
        return statement.where(Order.guide_id == scope.staff_id)
    if scope.kind is ScopeKind.NONE:
        return statement.where(Order.id.is_(None))
    return statement


def customer_scope_sql(statement: Any, scope: DataScope, column: Any) -> Any:
    if scope.kind is ScopeKind.ALL:
        return statement
    statement = statement.join(Customer, Customer.id == column)
    if scope.kind is ScopeKind.STORE:
        return statement.where(Customer.store_id == scope.store_id)
    if scope.kind is ScopeKind.OWN:
        return statement.where(Customer.guide_id == scope.staff_id)
    return statement.where(Customer.id.is_(None))


def campaign_costs(
    session: Session, scope: DataScope, campaigns: list[dict[str, Any]], period: Period, tz: str
) -> dict[int, CampaignCosts]:
    """Each campaign's itemised cost in the period (see the module docstring)."""
    ids = [row["campaign_id"] for row in campaigns]
    if not ids:
        return {}
    begin, finish = (moment.replace(tzinfo=UTC) for moment in period.utc_bounds(tz))
    own_orders = order_scope_sql(
        select(Order.id).where(
            Order.campaign_id.in_(ids), Order.paid_at >= begin, Order.paid_at < finish
        ),
        scope,
    ).subquery()
    items: dict[int, dict[str, int]] = {campaign_id: {} for campaign_id in ids}

    def add(item: str, campaign_id: int | None, amount: int | None) -> None:
        if campaign_id is None:
            return
        bucket = items[campaign_id]
        bucket[item] = bucket.get(item, 0) + int(amount or 0)

    lines = session.execute(
        select(Order.campaign_id, OrderLine.price_breakdown)
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.order_id.in_(select(own_orders.c.id)))
    )
    for campaign_id, breakdown in lines:
        for step in breakdown or ():
            if step.get("step") == CAMPAIGN_PRICE and int(step.get("amount", 0)) < 0:
                add("campaign_discount", campaign_id, -int(step["amount"]))
    coupons = session.execute(
        select(Order.campaign_id, func.sum(Coupon.discount_amount))
        .join(Order, Order.id == Coupon.order_id)
        .where(
            Coupon.order_id.in_(select(own_orders.c.id)),
            func.coalesce(Coupon.source_ref, "").not_like(f"{LOTTERY_COUPON_PREFIX}%"),
        )
        .group_by(Order.campaign_id)
    )
    for campaign_id, amount in coupons:
        add("coupons", campaign_id, amount)
    points_value = program.current(session).points_value
    earned = session.execute(
        select(Order.campaign_id, func.sum(PointsEntry.amount))
        .join(Order, Order.id == PointsEntry.order_id)
        .where(
            PointsEntry.order_id.in_(select(own_orders.c.id)),
            PointsEntry.kind == PointsEntryKind.EARN,
        )
        .group_by(Order.campaign_id)
    )
    for campaign_id, amount in earned:
        # Whole fen, rounded down: the cash the points can buy at checkout.
        add("points", campaign_id, int(amount or 0) * 100 // points_value)
    commissions = session.execute(
        order_scope_sql(
            select(
                Commission.campaign_id,
                func.sum(Commission.amount - Commission.reversed_amount),
            )
            .join(Order, Order.id == Commission.order_id)
            .where(
                Commission.campaign_id.in_(ids),
                Commission.created_at >= begin,
                Commission.created_at < finish,
            )
            .group_by(Commission.campaign_id),
            scope,
        )
    )
    for campaign_id, amount in commissions:
        add("commissions", campaign_id, amount)
    prizes = session.execute(
        customer_scope_sql(
            select(LotteryDraw.campaign_id, func.sum(LotteryDraw.value_amount))
            .where(
                LotteryDraw.campaign_id.in_(ids),
                LotteryDraw.outcome == DrawOutcome.WON,
                LotteryDraw.created_at >= begin,
                LotteryDraw.created_at < finish,
            )
            .group_by(LotteryDraw.campaign_id),
            scope,
            LotteryDraw.customer_id,
        )
    )
    for campaign_id, amount in prizes:
        add("prizes", campaign_id, amount)
    return {
        row["campaign_id"]: CampaignCosts(
            fixed=int(row["fixed_cost_amount"]), **items[row["campaign_id"]]
        )
        for row in campaigns
    }


def campaigns_in(analytics: Analytics, period: Period) -> list[dict[str, Any]]:
    """Registered campaigns whose live window overlaps the period; drafts never ran."""
    begin, finish = period.utc_bounds(analytics.timezone)
    return analytics.rows(
        "SELECT * FROM a_campaigns WHERE starts_at < ? AND ends_at > ? AND status <> ? "
        "ORDER BY starts_at, campaign_id",
        [finish, begin, CampaignStatus.DRAFT.value],
    )


def orders_and_participants(analytics: Analytics, period: Period) -> dict[int, tuple[int, int]]:
    """(orders, participants) per campaign id in the period."""
    orders = period_orders_sql(period, analytics.timezone, analytics.scope)
    events_where = period.where("e.occurred_at", analytics.timezone, partition_slack_days=0)
    rows = analytics.rows(
        f"""
        WITH touched AS (
            SELECT o.campaign_id, o.customer_id, o.order_id FROM ({orders}) o
            WHERE o.campaign_id IS NOT NULL
        UNION ALL
            SELECT e.campaign_id, e.customer_id, NULL FROM a_events e
            WHERE e.campaign_id IS NOT NULL AND {events_where}
        )
        SELECT campaign_id, count(DISTINCT order_id) AS orders,
               count(DISTINCT customer_id) AS participants
        FROM touched GROUP BY campaign_id
        """
    )
    return {int(row["campaign_id"]): (int(row["orders"]), int(row["participants"])) for row in rows}


def _roi_of(
    row: dict[str, Any],
    costs: CampaignCosts,
    credit: tuple[int, float],
    counts: tuple[int, int],
    holdout: HoldoutComparison | None,
) -> CampaignRoi:
    attributed_gmv, attributed_orders = credit
    return CampaignRoi(
        campaign_id=int(row["campaign_id"]),
        public_id=row["public_id"],
        name=row["name"],
        kind=row["kind"],
        status=row["status"],
        lifecycle_stage=row["lifecycle_stage"],
        touchpoints=list(row["touchpoints"] or []),
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        costs=costs,
        attributed_gmv=attributed_gmv,
        attributed_orders=attributed_orders,
        orders=counts[0],
        participants=counts[1],
        gross_margin=attributed_gmv - costs.total,
        roi=(attributed_gmv - costs.total) / costs.total if costs.total else None,
        holdout=holdout,
    )


def campaign_roi(
    analytics: Analytics,
    session: Session,
    period: Period,
    *,
    model: AttributionModel = AttributionModel.LAST_TOUCH,
) -> list[CampaignRoi]:
    """ROI of every registered campaign overlapping the period, in start order."""
    campaigns = campaigns_in(analytics, period)
    if not campaigns:
        return []
    credited = {
        item.value: (item.credited_gmv, item.credited_orders)
        for item in attribute(
            analytics, period, model=model, dimension=AttributionDimension.CAMPAIGN
        )
    }
    costs = campaign_costs(session, analytics.scope, campaigns, period, analytics.timezone)
    counts = orders_and_participants(analytics, period)
    return [
        _roi_of(
            row,
            costs[row["campaign_id"]],
            credited.get(str(row["campaign_id"]), (0, 0.0)),
            counts.get(int(row["campaign_id"]), (0, 0)),
            holdout_comparison(analytics, row),
        )
        for row in campaigns
    ]


def campaign_detail(
    analytics: Analytics,
    session: Session,
    period: Period,
    campaign_id: int,
    *,
    model: AttributionModel = AttributionModel.LAST_TOUCH,
) -> CampaignDetail:
    """One campaign's ROI with its daily GMV per customer, treatment vs holdout."""
    for result in campaign_roi(analytics, session, period, model=model):
        if result.campaign_id == campaign_id:
            row = analytics.rows("SELECT * FROM a_campaigns WHERE campaign_id = ?", [campaign_id])
            return CampaignDetail(campaign=result, days=daily_by_group(analytics, row[0]))
    raise AnalyticsObjectNotFound(
        "No campaign with this id overlaps the period.",
        data={"campaign_id": campaign_id, "start": period.start.isoformat()},
    )


def set_fixed_cost(session: Session, actor: Principal, campaign_id: int, amount: int) -> Campaign:
    """Record what the campaign cost outside siyu (fen). Allowed in any phase: bills for
    design or ads arrive after a campaign ends. Audited like every registry change."""
    campaign = registry.get(session, campaign_id)
    previous = campaign.fixed_cost_amount
    campaign.fixed_cost_amount = amount
    campaign.updated_at = clock.now()
    audit.record(
        session,
        actor,
        "campaign.fixed_cost_set",
        target_type="campaign",
        target_id=campaign.id,
        detail={"fixed_cost_amount": amount, "previous": previous},
    )
    session.flush()
    return campaign
