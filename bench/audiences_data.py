"""Synthetic brand data for ``bench/audiences.py``, generated inside DuckDB.

Every generator returns a ``SELECT`` whose columns are those of the OLTP table it
stands for (``customer``, ``tracked_event``, ``order`` …), so the same rows can go
into the warehouse's Parquet layout or, for the smaller slices, into SQLite. Rows are
a pure function of their number (``hash(i, salt)``): the data is the same on every
run and every thread count, and nothing is drawn row by row in Python.

Skew, as in a real brand: a customer's share of orders and events falls with a power
law (``floor(buyers × u²)``, then scattered over the ids by a multiplicative
permutation), so most customers have one or two orders and a few have hundreds;
events span the last 180 days with evening peaks; ~20 % of orders use a coupon.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

import duckdb

BATCH = 200_000

# Categories of the synthetic catalog; 口红 first (the lipstick lookers' segment).
CATEGORIES = ("口红", "底妆", "护肤", "香水", "个护", "礼盒")
PRODUCTS = 120
STORES = 5
GUIDES = 20
CHANNEL_CODES = 34
COUPON_TEMPLATES = 5
TIERS = (
    ("normal", "普通会员", 1),
    ("silver", "银卡会员", 2),
    ("gold", "金卡会员", 3),
    ("platinum", "铂金会员", 4),
)
TOUCHPOINTS = ("mp", "oa", "wecom", "h5", "offline")
CITIES = ("上海", "杭州", "南京", "成都", "北京", "深圳", "广州", "苏州")
# A prime larger than any customer count: i → i × P mod N permutes 0..N-1.
SCATTER = 1_000_003
EVENT_DAYS = 180
ORDER_DAYS = 730


@dataclass(frozen=True)
class Sizes:
    customers: int
    orders: int
    events: int
    # The ids of the generated rows start after these (slices appended to a base).
    first_event: int = 1
    first_order: int = 1


def setup(con: duckdb.DuckDBPyConnection, now: datetime) -> None:
    """Macros every generator uses; ``now`` is naive UTC."""
    con.execute("CREATE OR REPLACE MACRO u(i, s) AS (hash(i, s) % 1000000007)::DOUBLE / 1000000007")
    con.execute(f"CREATE OR REPLACE MACRO bench_now() AS TIMESTAMP '{now.isoformat(sep=' ')}'")
    con.execute(
        "CREATE OR REPLACE MACRO ago(fraction_days) AS "
        "bench_now() - to_microseconds((fraction_days * 86400e6)::BIGINT)"
    )
    con.execute(
        "CREATE OR REPLACE MACRO pick(i, s, items) AS items[1 + (hash(i, s) % len(items))::INT]"
    )


def _skewed_customer(i: str, salt: int, customers: int, share: float, power: int = 2) -> str:
    # floor(share·N·u²): low ranks get many rows; scattered so ids carry no order.
    rank = f"floor({customers * share} * pow(u({i}, {salt}), {power}))::BIGINT"
    return f"(1 + ({rank} * {SCATTER}) % {customers})"


def _touchpoint(i: str, salt: int) -> str:
    return (
        f"CASE WHEN u({i},{salt}) < 0.55 THEN 'mp' WHEN u({i},{salt}) < 0.70 THEN 'oa' "
        f"WHEN u({i},{salt}) < 0.85 THEN 'wecom' WHEN u({i},{salt}) < 0.95 THEN 'h5' "
        "ELSE 'offline' END"
    )


def categories() -> str:
    rows = ", ".join(f"({n}, '{name}')" for n, name in enumerate(CATEGORIES, 1))
    return (
        "SELECT id, NULL::BIGINT AS parent_id, name, id AS sort_order, true AS is_active, "
        f"bench_now() AS created_at, bench_now() AS updated_at FROM (VALUES {rows}) t(id, name)"
    )


def product_category(product: str) -> str:
    # 口红 gets a double share of the catalog (products 1, 7, 13 … and 2, 8 …).
    return f"(CASE WHEN ({product} - 1) % 7 = 6 THEN 1 ELSE 1 + ({product} - 1) % 7 END)"


def products() -> str:
    return (
        f"SELECT i AS id, 'P' || i AS code, '商品' || i AS name, '' AS subtitle, "
        f"{product_category('i')} AS category_id, 'active' AS status, '[]' AS images, "
        "'[]' AS spec_names, 0 AS sort_weight, "
        "bench_now() AS created_at, bench_now() AS updated_at "
        f"FROM range(1, {PRODUCTS + 1}) t(i)"
    )


def tiers() -> str:
    rows = ", ".join(f"({rank}, '{code}', '{name}', {rank})" for code, name, rank in TIERS)
    return (
        "SELECT id, code, name, code AS name_en, rank, (rank - 1) * 1000 AS growth_threshold, "
        "100 AS discount_rate, 1 AS points_multiplier, 0 AS birthday_points, '' AS description, "
        f"bench_now() AS created_at, bench_now() AS updated_at FROM (VALUES {rows}) t(id, code, "
        "name, rank)"
    )


def customers(sizes: Sizes) -> str:
    created = "ago(pow(u(i, 15), 0.7) * 900)"
    return f"""
SELECT i AS id, 'active' AS status, NULL::BIGINT AS merged_into_id, NULL AS pseudonym,
  '客户' || i AS name,
  CASE WHEN u(i, 11) < 0.82 THEN 'female' WHEN u(i, 11) < 0.95 THEN 'male' END AS gender,
  (DATE '1966-01-01' + (u(i, 12) * 14600)::INT)::DATE AS birthday,
  pick(i, 13, {list(CITIES)}) AS city, '{{}}' AS consent,
  CASE WHEN u(i, 16) < 0.6 THEN 1 + hash(i, 17) % {CHANNEL_CODES} END
    AS first_touch_channel_code_id,
  {_touchpoint("i", 14)} AS first_touchpoint, {created} AS first_touch_at,
  NULL::BIGINT AS last_touch_channel_code_id,
  {_touchpoint("i", 18)} AS last_touchpoint, {created} AS last_touch_at,
  CASE WHEN u(i, 19) < 0.4 THEN 1 + hash(i, 20) % {GUIDES} END AS guide_id,
  CASE WHEN u(i, 19) < 0.6 THEN 1 + hash(i, 20) % {STORES} END AS store_id,
  ago(u(i, 21) * 60) AS last_seen_at,
  {created} AS created_at, {created} AS updated_at
FROM range(1, {sizes.customers + 1}) t(i)
"""


def identities(sizes: Sizes) -> str:
    # (kind, salt, share): unionid and mp_openid for most, a WeCom contact for a quarter.
    kinds = (
        ("unionid", 31, 0.90),
        ("mp_openid", 32, 0.90),
        ("oa_openid", 33, 0.40),
        ("phone", 34, 0.46),
        ("wecom_external_userid", 35, 0.25),
        ("member_no", 36, 0.60),
    )
    parts = [
        f"SELECT {n} AS k, i AS customer_id, '{kind}' AS kind, '' AS namespace, "
        f"'{kind[:2]}' || i AS lookup_key, '{kind[:2]}' || i AS value, NULL AS encrypted_value, "
        f"ago(u(i, 15) * 700) AS created_at, ago(u(i, 15) * 700) AS last_seen_at "
        f"FROM range(1, {sizes.customers + 1}) t(i) WHERE u(i, {salt}) < {share}"
        for n, (kind, salt, share) in enumerate(kinds)
    ]
    return (
        "SELECT row_number() OVER (ORDER BY customer_id, k) AS id, * EXCLUDE (k) FROM ("
        + " UNION ALL ".join(parts)
        + ")"
    )


def wecom_contact(i: str) -> str:
    return f"u({i}, 35) < 0.25"


def staff_links(sizes: Sizes) -> str:
    return f"""
SELECT i AS id, i AS customer_id, 1 + hash(i, 20) % {GUIDES} AS staff_id, 'wwbench' AS corp_id,
  'we' || i AS external_userid, NULL AS state, ago(u(i, 15) * 700) AS added_at,
  CASE WHEN u(i, 37) < 0.08 THEN ago(u(i, 38) * 30) END AS removed_at
FROM range(1, {sizes.customers + 1}) t(i) WHERE {wecom_contact("i")}
"""


def memberships(sizes: Sizes) -> str:
    tier = (
        "CASE WHEN u(i, 41) < 0.70 THEN 1 WHEN u(i, 41) < 0.90 THEN 2 "
        "WHEN u(i, 41) < 0.98 THEN 3 ELSE 4 END"
    )
    return f"""
SELECT i AS customer_id, {tier} AS tier_id, (hash(i, 42) % 5000)::BIGINT AS growth_value,
  (hash(i, 43) % 3000)::BIGINT AS points_balance, 0 AS points_frozen,
  ago(u(i, 15) * 700) AS joined_at, 'Asia/Shanghai' AS timezone, NULL::TIMESTAMP AS tier_changed_at,
  NULL::TIMESTAMP AS tier_reviewed_at, 0 AS period_growth,
  ago(u(i, 15) * 700) AS created_at, ago(u(i, 15) * 700) AS updated_at
FROM range(1, {sizes.customers + 1}) t(i) WHERE u(i, 36) < 0.60
"""


def _order_base(sizes: Sizes) -> str:
    """One row per order with the figures the order and its lines share."""
    last = sizes.first_order + sizes.orders
    return f"""
SELECT i, {_skewed_customer("i", 21, sizes.customers, 0.7, 3)} AS customer_id,
  ago(u(i, 22) * {ORDER_DAYS}) AS created_at,
  CASE WHEN u(i, 23) < 0.03 THEN 'cancelled' WHEN u(i, 23) < 0.055 THEN 'refunded'
       WHEN u(i, 23) < 0.07 THEN 'partially_refunded' WHEN u(i, 23) < 0.08 THEN 'shipped'
       ELSE 'completed' END AS status,
  (99 + hash(i, 24) % 400)::BIGINT * 100 AS items_amount,
  CASE WHEN u(i, 25) < 0.2 THEN (10 + 10 * (hash(i, 26) % 2))::BIGINT * 100 ELSE 0 END
    AS discount_amount,
  CASE WHEN u(i, 27) < 0.6 THEN 1 WHEN u(i, 27) < 0.9 THEN 2 ELSE 3 END AS line_count,
  CASE WHEN u(i, 28) < 0.25 THEN 1 + hash(i, 29) % {STORES} END AS store_id
FROM range({sizes.first_order}, {last}) t(i)
"""


def orders(sizes: Sizes) -> str:
    return f"""
WITH o AS ({_order_base(sizes)}),
f AS (
  SELECT *, CASE WHEN items_amount < 15000 THEN 800 ELSE 0 END AS shipping_amount,
    created_at + INTERVAL 1 MINUTE AS paid_moment FROM o
)
SELECT i AS id, 'o' || i AS public_id, customer_id, status, NULL AS resume_status,
  CASE WHEN store_id IS NULL THEN 'mall' ELSE 'store' END AS source, NULL AS external_id,
  CASE WHEN store_id IS NULL THEN 'mall' ELSE 'store' END AS sales_channel,
  'delivery' AS fulfilment, NULL::BIGINT AS pickup_location_id,
  items_amount, discount_amount, shipping_amount,
  items_amount - discount_amount + shipping_amount AS total_amount,
  CASE WHEN status = 'cancelled' THEN 0 ELSE items_amount - discount_amount + shipping_amount
    END AS paid_amount,
  CASE WHEN status = 'refunded' THEN items_amount - discount_amount + shipping_amount
       WHEN status = 'partially_refunded' THEN (items_amount - discount_amount) // 3
       ELSE 0 END AS refunded_amount,
  line_count AS item_count, '[]' AS pricing_steps,
  CASE WHEN store_id IS NULL THEN {_touchpoint("i", 30)} ELSE 'offline' END AS touchpoint,
  CASE WHEN u(i, 31) < 0.1 THEN 1 + hash(i, 32) % {CHANNEL_CODES} END AS channel_code_id,
  CASE WHEN store_id IS NOT NULL THEN 1 + hash(i, 33) % {GUIDES} END AS guide_id,
  NULL::BIGINT AS campaign_id, NULL::BIGINT AS referrer_customer_id, store_id,
  '' AS customer_note,
  CASE WHEN status = 'cancelled' THEN NULL ELSE paid_moment END AS paid_at,
  CASE WHEN status = 'completed' THEN least(created_at + INTERVAL 5 DAY, bench_now())
    END AS completed_at,
  CASE WHEN status = 'cancelled' THEN created_at + INTERVAL 30 MINUTE END AS cancelled_at,
  CASE WHEN status = 'completed' AND created_at + INTERVAL 12 DAY < bench_now()
    THEN created_at + INTERVAL 12 DAY END AS final_at,
  created_at, least(created_at + INTERVAL 5 DAY, bench_now()) AS updated_at
FROM f
"""


def order_lines(sizes: Sizes) -> str:
    # Items split evenly (remainder on the last line); the coupon discount sits on the
    # last line (>= 3,300 fen, above any discount) and shipping on the first.
    return f"""
WITH o AS ({_order_base(sizes)}),
l AS (
  SELECT o.*, least(created_at + INTERVAL 5 DAY, bench_now()) AS updated_at, k,
    1 + hash(i * 4 + k, 34) % {PRODUCTS} AS product_id,
    CASE WHEN k = line_count THEN items_amount - (items_amount // line_count) * (line_count - 1)
         ELSE items_amount // line_count END AS base_amount,
    CASE WHEN k = line_count THEN discount_amount ELSE 0 END AS line_discount,
    CASE WHEN k = 1 AND items_amount < 15000 THEN 800 ELSE 0 END AS line_shipping
  FROM o, range(1, 4) r(k) WHERE k <= line_count
)
SELECT i * 4 + k AS id, i AS order_id, k::INT AS line_no, product_id AS sku_id, product_id,
  {product_category("product_id")} AS category_id, '商品' || product_id AS product_name,
  '' AS sku_code, '{{}}' AS specs, NULL AS image, 1 AS quantity,
  base_amount AS unit_list_price, base_amount AS unit_price, base_amount,
  line_discount AS discount_amount, line_shipping AS shipping_amount,
  base_amount - line_discount + line_shipping AS payable_amount, '[]' AS price_breakdown,
  NULL::BIGINT AS location_id,
  CASE WHEN status = 'refunded' THEN 1 ELSE 0 END AS refunded_quantity,
  CASE WHEN status = 'refunded' THEN base_amount - line_discount + line_shipping ELSE 0 END
    AS refunded_amount,
  created_at, customer_id, updated_at
FROM l
"""


def coupons(sizes: Sizes) -> str:
    """A used coupon per discounted order, plus claimed-but-unused and expired ones."""
    unused = sizes.customers
    return f"""
WITH o AS ({_order_base(sizes)})
SELECT i AS id, 'c' || i AS code, 1 + hash(i, 26) % {COUPON_TEMPLATES} AS template_id,
  customer_id, 'used' AS status, 'claim' AS source, NULL AS source_ref, 'customer' AS issued_by,
  created_at - INTERVAL 3 DAY AS valid_from, created_at + INTERVAL 27 DAY AS valid_until,
  created_at - INTERVAL 3 DAY AS claimed_at, created_at + INTERVAL 1 MINUTE AS used_at,
  i AS order_id, store_id AS used_store_id, NULL AS redeemed_by, discount_amount,
  NULL::TIMESTAMP AS reminded_at, NULL::TIMESTAMP AS expired_at
FROM o WHERE discount_amount > 0 AND status <> 'cancelled'
UNION ALL
SELECT {sizes.first_order + sizes.orders} + j AS id, 'u' || j AS code,
  1 + hash(j, 51) % {COUPON_TEMPLATES} AS template_id,
  {_skewed_customer("j", 52, sizes.customers, 0.9)} AS customer_id,
  CASE WHEN u(j, 54) * 400 > 30 THEN 'expired' ELSE 'available' END AS status,
  'claim' AS source,
  NULL AS source_ref, 'customer' AS issued_by, ago(u(j, 54) * 400) AS valid_from,
  ago(u(j, 54) * 400) + INTERVAL 30 DAY AS valid_until, ago(u(j, 54) * 400) AS claimed_at,
  NULL::TIMESTAMP AS used_at, NULL::BIGINT AS order_id, NULL::BIGINT AS used_store_id,
  NULL AS redeemed_by, 1000 AS discount_amount, NULL::TIMESTAMP AS reminded_at,
  CASE WHEN u(j, 54) * 400 > 30 THEN ago(u(j, 54) * 400) + INTERVAL 30 DAY END AS expired_at
FROM range(1, {unused + 1}) t(j)
"""


def points(sizes: Sizes) -> str:
    """An earn entry for every third paid order."""
    return f"""
WITH o AS ({_order_base(sizes)})
SELECT i AS id, customer_id, 'earn' AS kind, 'available' AS status,
  items_amount // 100 AS amount, items_amount // 100 AS remaining,
  created_at + INTERVAL 365 DAY AS expires_at, 0 AS balance_after, i AS order_id,
  NULL AS reference, 'order' AS reason, 'job:points' AS actor, created_at
FROM o WHERE i % 3 = 0 AND status <> 'cancelled'
"""


def events(
    sizes: Sizes,
    *,
    days: float = EVENT_DAYS,
    received_lag_seconds: int = 2,
    session_events: int = 1,
) -> str:
    """Tracked events: product views (口红 among them), pages, carts, searches, shares,
    subscribe opt-ins and coupon claims over the last ``days`` days.

    ``session_events`` > 1 gives runs of that many consecutive events to one customer
    (a visit), as live traffic arrives; 1 draws every event's customer on its own."""
    last = sizes.first_event + sizes.events
    who = "i" if session_events == 1 else f"(i // {session_events})"
    # Evening-heavy hour of day: fold u² onto the day so ~half the events fall 18–24 h.
    moment = f"ago(u(i, 3) * {days})"
    kind = (
        "CASE WHEN u(i, 2) < 0.42 THEN 'product_view' WHEN u(i, 2) < 0.72 THEN 'page_view' "
        "WHEN u(i, 2) < 0.82 THEN 'add_to_cart' WHEN u(i, 2) < 0.88 THEN 'search' "
        "WHEN u(i, 2) < 0.92 THEN 'share' WHEN u(i, 2) < 0.95 THEN 'checkout_start' "
        "WHEN u(i, 2) < 0.97 THEN 'subscribe' WHEN u(i, 2) < 0.99 THEN 'coupon_claimed' "
        "ELSE 'order_paid' END"
    )
    return f"""
WITH e AS (
  SELECT i, {_skewed_customer(who, 1, sizes.customers, 0.85)} AS customer_id, {kind} AS type,
    {moment} AS occurred_at, 1 + hash(i, 4) % {PRODUCTS} AS product
  FROM range({sizes.first_event}, {last}) t(i)
)
SELECT i AS id, 'e' || i AS event_id, customer_id, type, occurred_at,
  occurred_at + to_seconds({received_lag_seconds}) AS received_at,
  {_touchpoint("i", 5)} AS touchpoint,
  CASE WHEN u(i, 6) < 0.05 THEN 1 + hash(i, 7) % {CHANNEL_CODES} END AS channel_code_id,
  '{{}}' AS context,
  CASE type
    WHEN 'product_view' THEN '{{"spu_id": ' || product || ', "sku_id": ' || product || '}}'
    WHEN 'add_to_cart' THEN '{{"sku_id": ' || product || ', "quantity": 1}}'
    WHEN 'page_view' THEN '{{"path": "/pages/index/index"}}'
    WHEN 'search' THEN '{{"query": "口红", "results": 12}}'
    WHEN 'subscribe' THEN '{{"template_id": "tpl' || hash(i, 8) % 3 || '"}}'
    WHEN 'coupon_claimed'
      THEN '{{"coupon_template_id": ' || 1 + hash(i, 9) % {COUPON_TEMPLATES} || '}}'
    ELSE '{{}}' END AS properties,
  CASE WHEN type IN ('product_view', 'add_to_cart') THEN product END AS product_id,
  CASE WHEN type IN ('product_view', 'add_to_cart') THEN {product_category("product")} END
    AS category_id,
  NULL::BIGINT AS campaign_id, NULL::BIGINT AS guide_id
FROM e
"""


def load_sqlite(
    con: duckdb.DuckDBPyConnection, database: sqlite3.Connection, table: str, select_sql: str
) -> int:
    """Insert the generator's rows into an SQLite table in big executemany batches.

    Timestamps become the text SQLAlchemy's SQLite dialect writes (microseconds
    always), so the exporter's watermark comparisons see what the services write.
    """
    stored = {row[1] for row in database.execute(f'PRAGMA table_info("{table}")')}
    described = [
        row for row in con.execute(f"DESCRIBE {select_sql}").fetchall() if row[0] in stored
    ]
    columns = [row[0] for row in described]
    projected = ", ".join(
        f"strftime({name}, '%Y-%m-%d %H:%M:%S.%f') AS {name}"
        if kind.startswith("TIMESTAMP")
        else (f"CAST({name} AS VARCHAR) AS {name}" if kind == "DATE" else name)
        for name, kind, *_ in described
    )
    quoted = ", ".join(f'"{name}"' for name in columns)
    marks = ", ".join("?" for _ in columns)
    statement = f'INSERT INTO "{table}" ({quoted}) VALUES ({marks})'
    result = con.execute(f"SELECT {projected} FROM ({select_sql})")
    loaded = 0
    database.execute("BEGIN")
    while rows := result.fetchmany(BATCH):
        database.executemany(statement, rows)
        loaded += len(rows)
    database.execute("COMMIT")
    return loaded
