"""Synthetic brand for ``bench/analytics.py``: the audiences brand plus attribution.

``bench/audiences_data.py`` generates customers, orders, lines and events inside
DuckDB; analytics needs more on the same rows, so this module wraps its ``SELECT``s
(``SELECT * REPLACE``) rather than copying them:

- orders credited to channel codes (35 %), campaigns (15 %), guides (every store order
  and the WeCom 1:1 ones) and referrers (3 %), with the refunds the base already has;
- events of the funnel types (already there) credited to campaigns and guides, 8 %
  channel-coded;
- a ``traits`` derived table with each customer's operational lifecycle stage (what
  ``siyu.audiences.refresh`` would leave), so stage slices and the diagnosis grid's
  audience sizes have something to count;
- the OLTP dimensions in SQLite through the models: 5 stores, 20 guides in them,
  34 channel codes of every kind, 24 campaigns over touchpoints × stages with gaps
  left on purpose, some with a holdout and a fixed cost.

Every value is a pure function of its row number, as in the base generator.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import audiences_data as data
import duckdb
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from siyu.core.migrations import upgrade
from siyu.models.campaign import Campaign, CampaignKind, CampaignStatus, LifecycleStage
from siyu.models.channel_code import ChannelCode, ChannelCodeKind
from siyu.models.location import Location
from siyu.models.staff import Staff
from siyu.warehouse.engine import DERIVED_DIR, traits_columns

CAMPAIGNS = 24
CODE_KINDS = tuple(ChannelCodeKind)
CODE_TOUCHPOINTS = ("mp", "oa", "wecom", "mp", "offline")
OPS_STAGES = ("new", "active", "dormant", "churned", "recalled")
# Touchpoint × stage cells campaigns act in; the grid's other cells stay empty (缺失).
CAMPAIGN_CELLS = (
    ("mp", "acquire"),
    ("mp", "convert"),
    ("mp", "refer"),
    ("oa", "convert"),
    ("oa", "recall"),
    ("wecom", "retain"),
    ("wecom", "convert"),
    ("community", "refer"),
)
CAMPAIGN_KINDS = tuple(CampaignKind)


def orders(sizes: data.Sizes) -> str:
    codes, customers = data.CHANNEL_CODES, sizes.customers
    return f"""
SELECT * REPLACE (
  CASE WHEN u(id, 71) < 0.35 THEN 1 + hash(id, 72) % {codes} END AS channel_code_id,
  CASE WHEN u(id, 73) < 0.15 THEN 1 + hash(id, 74) % {CAMPAIGNS} END AS campaign_id,
  CASE WHEN store_id IS NOT NULL OR touchpoint = 'wecom' THEN 1 + hash(id, 33) % {data.GUIDES}
    END AS guide_id,
  CASE WHEN u(id, 75) < 0.03 THEN 1 + hash(id, 76) % {customers} END AS referrer_customer_id
) FROM ({data.orders(sizes)})
"""


def events(sizes: data.Sizes) -> str:
    return f"""
SELECT * REPLACE (
  CASE WHEN u(id, 81) < 0.08 THEN 1 + hash(id, 82) % {data.CHANNEL_CODES} END AS channel_code_id,
  CASE WHEN u(id, 83) < 0.06 THEN 1 + hash(id, 84) % {CAMPAIGNS} END AS campaign_id,
  CASE WHEN touchpoint = 'wecom' THEN 1 + hash(customer_id, 20) % {data.GUIDES} END AS guide_id
) FROM ({data.events(sizes)})
"""


def tables(sizes: data.Sizes) -> dict[str, str]:
    return {
        "categories": data.categories(),
        "products": data.products(),
        "tiers": data.tiers(),
        "customers": data.customers(sizes),
        "identities": data.identities(sizes),
        "staff_links": data.staff_links(sizes),
        "memberships": data.memberships(sizes),
        "orders": orders(sizes),
        "order_lines": data.order_lines(sizes),
        "coupons": data.coupons(sizes),
        "points": data.points(sizes),
        "events": events(sizes),
    }


def write_traits(con: duckdb.DuckDBPyConnection, root: Path, sizes: data.Sizes) -> int:
    """``derived/traits.parquet`` with every customer_trait column; stages filled."""
    stage = (
        "CASE WHEN u(i, 91) < 0.12 THEN 'new' WHEN u(i, 91) < 0.40 THEN 'active' "
        "WHEN u(i, 91) < 0.65 THEN 'dormant' WHEN u(i, 91) < 0.95 THEN 'churned' "
        "ELSE 'recalled' END"
    )
    aipl = (
        "CASE WHEN u(i, 92) < 0.3 THEN 'aware' WHEN u(i, 92) < 0.55 THEN 'interest' "
        "WHEN u(i, 92) < 0.85 THEN 'purchase' ELSE 'loyal' END"
    )
    filled = {
        "customer_id": "i",
        "ops_stage": stage,
        "aipl_stage": aipl,
        "computed_at": "bench_now()",
    }
    parts = ", ".join(
        f"CAST({filled.get(name, 'NULL')} AS {duck_type}) AS {name}"
        for name, duck_type in traits_columns()
    )
    directory = root / DERIVED_DIR
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / "traits.parquet"
    con.execute(
        f"COPY (SELECT {parts} FROM range(1, {sizes.customers + 1}) t(i)) TO '{target}' "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    return sizes.customers


def write_dimensions(path: Path, now: datetime) -> dict[str, int]:
    """The OLTP rows ``open_analytics`` reads its dimensions from (``now`` naive UTC)."""
    upgrade(f"sqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    stamp = now.replace(tzinfo=UTC)
    try:
        with Session(engine) as session:
            session.add_all(
                Location(id=n, code=f"S{n:02d}", name=f"门店{n:02d}", city=data.CITIES[n])
                for n in range(1, data.STORES + 1)
            )
            session.add_all(
                Staff(
                    id=n,
                    username=f"guide{n:02d}",
                    display_name=f"导购{n:02d}",
                    store_id=1 + n % data.STORES,
                )
                for n in range(1, data.GUIDES + 1)
            )
            session.flush()
            session.add_all(
                ChannelCode(
                    id=n,
                    code=f"CC{n:03d}",
                    name=f"渠道码{n:03d}",
                    kind=CODE_KINDS[n % len(CODE_KINDS)],
                    touchpoint=CODE_TOUCHPOINTS[n % len(CODE_TOUCHPOINTS)],
                    guide_id=1 + n % data.GUIDES if n % 4 == 0 else None,
                    store_id=1 + n % data.STORES if n % 3 == 0 else None,
                )
                for n in range(1, data.CHANNEL_CODES + 1)
            )
            session.add_all(_campaign(n, stamp) for n in range(1, CAMPAIGNS + 1))
            session.commit()
    finally:
        engine.dispose()
    return {
        "stores": data.STORES,
        "guides": data.GUIDES,
        "channel_codes": data.CHANNEL_CODES,
        "campaigns": CAMPAIGNS,
    }


def _campaign(n: int, now: datetime) -> Campaign:
    touchpoint, stage = CAMPAIGN_CELLS[n % len(CAMPAIGN_CELLS)]
    # Staggered over the last year: every 30/90-day window holds several.
    starts = now - timedelta(days=15 * n + 10)
    return Campaign(
        id=n,
        public_id=f"bench-campaign-{n}",
        name=f"活动{n:02d}",
        kind=CAMPAIGN_KINDS[n % len(CAMPAIGN_KINDS)],
        touchpoints=[touchpoint],
        lifecycle_stage=LifecycleStage(stage),
        status=CampaignStatus.PUBLISHED,
        starts_at=starts,
        ends_at=starts + timedelta(days=20),
        holdout_percent=10 if n % 3 == 0 else 0,
        fixed_cost_amount=50_000_00 if n % 2 == 0 else 0,
    )
