"""The operations diagnosis grid: touchpoint × lifecycle stage, which campaigns acted
in each cell during the period, and which cells nobody worked (缺失) with the
audience left alone there (docs/analytics-campaigns.md).

A campaign acts in a cell when it overlaps the period (drafts never ran), one of its
touchpoints maps to the row and its ``lifecycle_stage`` is the column. Journeys will
join the cells when they are registered the same way.

Audience of a cell = live customers in the caller's scope, created before the period
ended, reachable at the row's touchpoint and in the column's population, both judged
at the end of the period:

reachable
  oa: an ``oa_openid`` identity; mp: an ``mp_openid`` identity; wecom: a WeCom contact
  (staff link) not removed; community: a ``group_join`` event and video_channel: an
  event at that touchpoint, both within ``REACH_LOOKBACK_DAYS`` before the period end
  (recent enough to still reach, and bounded so the query prunes old partitions);
  offline: a paid store order (source ``store``, or touchpoint offline / pos).
population
  acquire: never bought; retain: bought and operationally new, active or recalled
  (``traits.ops_stage``); convert: browsed in the period (a tracked event) but paid
  no order in it; refer: two or more paid orders and never the referrer of an order;
  recall: operationally dormant or churned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from siyu.analytics.attribution import AttributionDimension, AttributionModel, attribute
from siyu.analytics.connection import Analytics, customer_scope_sql
from siyu.analytics.period import Period
from siyu.analytics.roi import campaigns_in, orders_and_participants
from siyu.models.campaign import LifecycleStage

ROWS: tuple[str, ...] = ("oa", "mp", "wecom", "community", "video_channel", "offline")
STAGES: tuple[str, ...] = tuple(stage.value for stage in LifecycleStage)
# Registry touchpoints (siyu.campaigns.registry.TOUCHPOINTS) → grid row. "moments"
# (WeCom 朋友圈) is not a 1:1 conversation, h5/app/ecommerce are not rows of the grid.
ROW_OF_TOUCHPOINT: dict[str, str] = {
    "oa": "oa",
    "mp": "mp",
    "wecom": "wecom",
    "community": "community",
    "video_channel": "video_channel",
    "offline": "offline",
    "pos": "offline",
}
REACH_LOOKBACK_DAYS = 90


@dataclass(frozen=True)
class CellCampaign:
    campaign_id: int
    name: str
    kind: str
    attributed_gmv: int  # fen, last touch
    orders: int
    participants: int


@dataclass
class DiagnosisCell:
    touchpoint: str
    stage: str
    audience: int  # customers reachable here and in the stage's population
    campaigns: list[CellCampaign] = field(default_factory=list)

    @property
    def missing(self) -> bool:
        return not self.campaigns


@dataclass
class DiagnosisGrid:
    period: Period
    cells: list[DiagnosisCell]

    def cell(self, touchpoint: str, stage: str) -> DiagnosisCell:
        for cell in self.cells:
            if cell.touchpoint == touchpoint and cell.stage == stage:
                return cell
        raise KeyError((touchpoint, stage))

    @property
    def missing_count(self) -> int:
        return sum(cell.missing for cell in self.cells)


def audience_sizes(analytics: Analytics, period: Period) -> dict[tuple[str, str], int]:
    """Customers per (row, stage), as the module docstring defines them."""
    begin, finish = period.utc_bounds(analytics.timezone)
    reach_from = finish - timedelta(days=REACH_LOOKBACK_DAYS)
    low_day = min(reach_from, begin).date()
    literals = {
        "$begin": f"TIMESTAMP '{begin.isoformat(sep=' ')}'",
        "$finish": f"TIMESTAMP '{finish.isoformat(sep=' ')}'",
        "$reach": f"TIMESTAMP '{reach_from.isoformat(sep=' ')}'",
        "$low_day": f"DATE '{low_day.isoformat()}'",
        "$high_day": f"DATE '{finish.date().isoformat()}'",
    }
    cells = ", ".join(
        f"count(*) FILTER (WHERE reach.{row} AND stage.{stage}) AS {row}__{stage}"
        for row in ROWS
        for stage in STAGES
    )
    sql = f"""
        WITH people AS (
            SELECT c.customer_id FROM live_customers c
            WHERE c.created_at < $finish AND {customer_scope_sql(analytics.scope, "c")}
        ),
        ids AS (
            SELECT customer_id, bool_or(kind = 'oa_openid') AS oa,
                   bool_or(kind = 'mp_openid') AS mp
            FROM identities WHERE created_at < $finish GROUP BY customer_id
        ),
        links AS (
            SELECT DISTINCT customer_id FROM staff_links
            WHERE added_at < $finish AND (removed_at IS NULL OR removed_at >= $finish)
        ),
        seen AS (
            SELECT e.customer_id,
                   bool_or(e.type = 'group_join' AND e.occurred_at >= $reach) AS community,
                   bool_or(e.touchpoint = 'video_channel' AND e.occurred_at >= $reach)
                       AS video_channel,
                   bool_or(e.occurred_at >= $begin) AS browsed
            FROM events e
            WHERE e.customer_id IS NOT NULL AND e.occurred_at >= least($reach, $begin)
              AND e.occurred_at < $finish AND e.day BETWEEN $low_day AND $high_day
            GROUP BY e.customer_id
        ),
        -- One pass over the order history serves both the buyers and the referrers.
        per_key AS (
            SELECT o.customer_id, COALESCE(sv.survivor_id, o.referrer_customer_id) AS referrer,
                   count(*) AS orders,
                   bool_or(o.paid_at >= $begin) AS in_period,
                   bool_or(o.source = 'store' OR o.touchpoint IN ('offline', 'pos')) AS offline,
                   grouping(o.customer_id) AS by_referrer
            FROM orders o LEFT JOIN _survivor sv ON sv.merged_id = o.referrer_customer_id
            WHERE o.paid_at IS NOT NULL AND o.paid_at < $finish
            GROUP BY GROUPING SETS ((o.customer_id), (referrer))
        ),
        bought AS (SELECT * FROM per_key WHERE by_referrer = 0),
        referrers AS (
            SELECT referrer AS customer_id FROM per_key
            WHERE by_referrer = 1 AND referrer IS NOT NULL
        ),
        flags AS (
            SELECT
                struct_pack(
                    oa := COALESCE(i.oa, false), mp := COALESCE(i.mp, false),
                    wecom := l.customer_id IS NOT NULL,
                    community := COALESCE(s.community, false),
                    video_channel := COALESCE(s.video_channel, false),
                    offline := COALESCE(b.offline, false)
                ) AS reach,
                struct_pack(
                    acquire := b.customer_id IS NULL,
                    retain := b.customer_id IS NOT NULL
                        AND t.ops_stage IN ('new', 'active', 'recalled'),
                    convert := COALESCE(s.browsed, false) AND NOT COALESCE(b.in_period, false),
                    refer := COALESCE(b.orders, 0) >= 2 AND r.customer_id IS NULL,
                    recall := b.customer_id IS NOT NULL AND t.ops_stage IN ('dormant', 'churned')
                ) AS stage
            FROM people p
            LEFT JOIN ids i ON i.customer_id = p.customer_id
            LEFT JOIN links l ON l.customer_id = p.customer_id
            LEFT JOIN seen s ON s.customer_id = p.customer_id
            LEFT JOIN bought b ON b.customer_id = p.customer_id
            LEFT JOIN referrers r ON r.customer_id = p.customer_id
            LEFT JOIN traits t ON t.customer_id = p.customer_id
        )
        SELECT {cells} FROM flags
        """
    for name, literal in literals.items():
        sql = sql.replace(name, literal)
    row = analytics.rows(sql)[0]
    return {
        (touchpoint, stage): int(row[f"{touchpoint}__{stage}"] or 0)
        for touchpoint in ROWS
        for stage in STAGES
    }


def diagnosis_grid(analytics: Analytics, session: Session, period: Period) -> DiagnosisGrid:
    """Every (touchpoint, stage) cell with its campaigns and audience, rows then stages."""
    del session  # the registry is already on the connection (a_campaigns)
    campaigns = campaigns_in(analytics, period)
    credited: dict[str, int] = {}
    counts: dict[int, tuple[int, int]] = {}
    if campaigns:
        credited = {
            item.value: item.credited_gmv
            for item in attribute(
                analytics,
                period,
                model=AttributionModel.LAST_TOUCH,
                dimension=AttributionDimension.CAMPAIGN,
            )
        }
        counts = orders_and_participants(analytics, period)
    sizes = audience_sizes(analytics, period)
    cells = {
        (row, stage): DiagnosisCell(row, stage, audience=sizes[(row, stage)])
        for row in ROWS
        for stage in STAGES
    }
    for campaign in campaigns:
        campaign_id = int(campaign["campaign_id"])
        orders, participants = counts.get(campaign_id, (0, 0))
        result = CellCampaign(
            campaign_id=campaign_id,
            name=campaign["name"],
            kind=campaign["kind"],
            attributed_gmv=credited.get(str(campaign_id), 0),
            orders=orders,
            participants=participants,
        )
        rows = {ROW_OF_TOUCHPOINT.get(touchpoint) for touchpoint in campaign["touchpoints"] or []}
        for row in sorted(filter(None, rows)):
            cell = cells.get((row, campaign["lifecycle_stage"]))
            if cell is not None:
                cell.campaigns.append(result)
    return DiagnosisGrid(period=period, cells=list(cells.values()))
