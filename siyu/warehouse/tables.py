"""What the warehouse stores: one export spec per table (docs/warehouse.md).

Each spec names the stored columns with their Arrow types (these also give the
empty views before the first export), the key that identifies a row across
versions, the OLTP query, and how a run finds what changed:

- ``id`` cursor: ``id > watermark``. Only for append-only tables on SQLite, where
  one writer at a time commits and ids become visible in order.
- ``version`` cursor: the row's version time is the greatest of ``version_columns``;
  a run reads ``version >= watermark - overlap`` and skips the (key, version) pairs
  it exported before (kept in the state's recent set), so a row whose time was
  taken before a slower transaction committed is still picked up once.

Tables whose changes leave no trace in any column (a revoked coupon, a deleted
identity) are also re-snapshotted in full every ``FULL_REFRESH_INTERVAL``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pyarrow as pa

BIGINT = pa.int64()
TEXT = pa.string()
TIMESTAMP = pa.timestamp("us")
DATE = pa.date32()

FULL_REFRESH_INTERVAL = timedelta(hours=1)
# Internal column: the sync run that wrote the row; the latest run's version wins.
SEQ_COLUMN = "_seq"
# Internal column: the row's version time (UTC), used for watermarks and freshness.
VERSION_COLUMN = "_version"
PARTITION_COLUMN = "day"


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    # SQL expression in the source query; {ts:…}, {date:…} and {json:…} fields are
    # rendered per dialect (export._render). None means the plain column of alias t.
    source: str | None = None


@dataclass(frozen=True)
class TableSpec:
    name: str
    key: str
    columns: tuple[Column, ...]
    from_sql: str
    # Columns (source expressions) whose greatest value is the row's version time.
    version_columns: tuple[str, ...]
    # Source expression giving the day partition; None = one unpartitioned snapshot.
    partition_source: str | None = None
    # Append-only on SQLite: read by ``id > watermark`` (fast, exact there).
    id_cursor_on_sqlite: str | None = None
    # Re-snapshot the whole table every FULL_REFRESH_INTERVAL (changes without a time).
    full_refresh: bool = False
    # Columns whose values are customer ids touched by a change of this table.
    customer_columns: tuple[str, ...] = ("customer_id",)
    extra_where: str = ""
    # Columns kept only for the export's own use (not stored).
    transient: tuple[str, ...] = field(default_factory=tuple)
    # Rows never change once written (tracked events): no versions to deduplicate.
    append_only: bool = False

    @property
    def partitioned(self) -> bool:
        return self.partition_source is not None

    def stored_schema(self) -> pa.Schema:
        """Columns in each Parquet file (the day partition lives in the path)."""
        fields = [
            pa.field(column.name, column.type)
            for column in self.columns
            if column.name not in self.transient
        ]
        fields.append(pa.field(VERSION_COLUMN, TIMESTAMP))
        fields.append(pa.field(SEQ_COLUMN, BIGINT))
        return pa.schema(fields)


def _c(name: str, type_: pa.DataType, source: str | None = None) -> Column:
    return Column(name, type_, source)


CUSTOMERS = TableSpec(
    name="customers",
    key="customer_id",
    from_sql="customer t",
    columns=(
        _c("customer_id", BIGINT, "t.id"),
        _c("status", TEXT),
        _c("merged_into_id", BIGINT),
        _c("guide_id", BIGINT),
        _c("store_id", BIGINT),
        _c("gender", TEXT),
        _c("city", TEXT),
        _c("birthday", DATE, "{date:t.birthday}"),
        _c("first_touchpoint", TEXT),
        _c("first_touch_channel_code_id", BIGINT),
        _c("first_touch_at", TIMESTAMP, "{ts:t.first_touch_at}"),
        _c("last_touchpoint", TEXT),
        _c("last_touch_at", TIMESTAMP, "{ts:t.last_touch_at}"),
        _c("last_seen_at", TIMESTAMP, "{ts:t.last_seen_at}"),
        _c("created_at", TIMESTAMP, "{ts:t.created_at}"),
        _c("updated_at", TIMESTAMP, "{ts:t.updated_at}"),
    ),
    version_columns=("t.updated_at",),
)

IDENTITIES = TableSpec(
    name="identities",
    key="identity_id",
    from_sql="customer_identity t",
    # Never the value, nor its hash: kind and namespace are all analytics need.
    columns=(
        _c("identity_id", BIGINT, "t.id"),
        _c("customer_id", BIGINT),
        _c("kind", TEXT),
        _c("namespace", TEXT),
        _c("created_at", TIMESTAMP, "{ts:t.created_at}"),
    ),
    version_columns=("t.created_at",),
    full_refresh=True,
)

STAFF_LINKS = TableSpec(
    name="staff_links",
    key="link_id",
    from_sql="customer_staff_link t",
    columns=(
        _c("link_id", BIGINT, "t.id"),
        _c("customer_id", BIGINT),
        _c("staff_id", BIGINT),
        _c("added_at", TIMESTAMP, "{ts:t.added_at}"),
        _c("removed_at", TIMESTAMP, "{ts:t.removed_at}"),
    ),
    version_columns=("t.added_at", "t.removed_at"),
    full_refresh=True,
)

TIERS = TableSpec(
    name="tiers",
    key="tier_id",
    from_sql="member_tier t",
    columns=(
        _c("tier_id", BIGINT, "t.id"),
        _c("code", TEXT),
        _c("name", TEXT),
        _c("rank", BIGINT),
    ),
    version_columns=("t.updated_at",),
    customer_columns=(),
    full_refresh=True,
)

MEMBERSHIPS = TableSpec(
    name="memberships",
    key="member_customer_id",
    from_sql="membership t",
    columns=(
        # The membership's own customer, kept to drop memberships of merged customers.
        _c("member_customer_id", BIGINT, "t.customer_id"),
        _c("customer_id", BIGINT),
        _c("tier_id", BIGINT),
        _c("growth_value", BIGINT),
        _c("points_balance", BIGINT),
        _c("joined_at", TIMESTAMP, "{ts:t.joined_at}"),
    ),
    version_columns=("t.updated_at",),
)

COUPONS = TableSpec(
    name="coupons",
    key="coupon_id",
    from_sql="coupon t",
    columns=(
        _c("coupon_id", BIGINT, "t.id"),
        _c("template_id", BIGINT),
        _c("customer_id", BIGINT),
        _c("status", TEXT),
        _c("source", TEXT),
        _c("claimed_at", TIMESTAMP, "{ts:t.claimed_at}"),
        _c("used_at", TIMESTAMP, "{ts:t.used_at}"),
        _c("valid_until", TIMESTAMP, "{ts:t.valid_until}"),
        _c("order_id", BIGINT),
        _c("discount_amount", BIGINT),
    ),
    # Claim, use and expiry each stamp a time; a revoke or a coupon given back on a
    # refund does not, so the hourly full refresh catches those (docs/warehouse.md).
    version_columns=("t.claimed_at", "t.used_at", "t.expired_at"),
    full_refresh=True,
)

POINTS = TableSpec(
    name="points",
    key="entry_id",
    from_sql='points_entry t LEFT JOIN "order" o ON o.id = t.order_id',
    columns=(
        _c("entry_id", BIGINT, "t.id"),
        _c("customer_id", BIGINT, "t.customer_id"),
        _c("kind", TEXT, "t.kind"),
        _c("status", TEXT, "t.status"),
        _c("amount", BIGINT, "t.amount"),
        _c("created_at", TIMESTAMP, "{ts:t.created_at}"),
        _c("expires_at", TIMESTAMP, "{ts:t.expires_at}"),
        _c("order_id", BIGINT, "t.order_id"),
    ),
    # An entry's only change (frozen -> available) happens when its order turns
    # final, which moves the order's updated_at.
    version_columns=("t.created_at", "o.updated_at"),
    full_refresh=True,
)

PRODUCTS = TableSpec(
    name="products",
    key="product_id",
    from_sql="product t",
    columns=(
        _c("product_id", BIGINT, "t.id"),
        _c("category_id", BIGINT),
        _c("name", TEXT),
    ),
    version_columns=("t.updated_at",),
    customer_columns=(),
    full_refresh=True,
)

CATEGORIES = TableSpec(
    name="categories",
    key="category_id",
    from_sql="category t",
    columns=(
        _c("category_id", BIGINT, "t.id"),
        _c("parent_id", BIGINT),
        _c("name", TEXT),
    ),
    version_columns=("t.updated_at",),
    customer_columns=(),
    full_refresh=True,
)

ORDERS = TableSpec(
    name="orders",
    key="order_id",
    from_sql='"order" t',
    columns=(
        _c("order_id", BIGINT, "t.id"),
        _c("customer_id", BIGINT),
        _c("status", TEXT),
        _c("source", TEXT),
        _c("sales_channel", TEXT),
        _c("fulfilment", TEXT),
        _c("items_amount", BIGINT),
        _c("discount_amount", BIGINT),
        _c("shipping_amount", BIGINT),
        _c("total_amount", BIGINT),
        _c("paid_amount", BIGINT),
        _c("refunded_amount", BIGINT),
        _c("item_count", BIGINT),
        _c("touchpoint", TEXT),
        _c("channel_code_id", BIGINT),
        _c("guide_id", BIGINT),
        _c("campaign_id", BIGINT),
        _c("referrer_customer_id", BIGINT),
        _c("store_id", BIGINT),
        _c("pickup_location_id", BIGINT),
        _c("created_at", TIMESTAMP, "{ts:t.created_at}"),
        _c("paid_at", TIMESTAMP, "{ts:t.paid_at}"),
        _c("completed_at", TIMESTAMP, "{ts:t.completed_at}"),
        _c("cancelled_at", TIMESTAMP, "{ts:t.cancelled_at}"),
        _c("final_at", TIMESTAMP, "{ts:t.final_at}"),
        _c("updated_at", TIMESTAMP, "{ts:t.updated_at}"),
    ),
    version_columns=("t.updated_at",),
    partition_source="t.created_at",
)

ORDER_LINES = TableSpec(
    name="order_lines",
    key="line_id",
    from_sql='order_line t JOIN "order" o ON o.id = t.order_id',
    columns=(
        _c("line_id", BIGINT, "t.id"),
        _c("order_id", BIGINT, "t.order_id"),
        _c("customer_id", BIGINT, "o.customer_id"),
        _c("product_id", BIGINT, "t.product_id"),
        _c("sku_id", BIGINT, "t.sku_id"),
        _c("category_id", BIGINT, "t.category_id"),
        _c("quantity", BIGINT, "t.quantity"),
        _c("unit_price", BIGINT, "t.unit_price"),
        _c("base_amount", BIGINT, "t.base_amount"),
        _c("discount_amount", BIGINT, "t.discount_amount"),
        _c("payable_amount", BIGINT, "t.payable_amount"),
        _c("refunded_quantity", BIGINT, "t.refunded_quantity"),
        _c("refunded_amount", BIGINT, "t.refunded_amount"),
        _c("location_id", BIGINT, "t.location_id"),
        _c("created_at", TIMESTAMP, "{ts:o.created_at}"),
    ),
    # Lines have no time of their own; a refund of a line changes its order.
    version_columns=("o.updated_at",),
    partition_source="o.created_at",
    customer_columns=(),
)

EVENTS = TableSpec(
    name="events",
    key="id",
    from_sql="tracked_event t",
    columns=(
        _c("id", BIGINT, "t.id"),
        _c("event_id", TEXT),
        _c("customer_id", BIGINT),
        _c("type", TEXT),
        _c("occurred_at", TIMESTAMP, "{ts:t.occurred_at}"),
        _c("received_at", TIMESTAMP, "{ts:t.received_at}"),
        _c("touchpoint", TEXT),
        _c("channel_code_id", BIGINT),
        # Filled from properties/context by the export's transform step.
        _c("campaign_id", BIGINT, "NULL"),
        _c("guide_id", BIGINT, "NULL"),
        _c("product_id", BIGINT, "NULL"),
        _c("category_id", BIGINT, "NULL"),
        _c("properties", TEXT, "{json:t.properties}"),
        _c("context", TEXT, "{json:t.context}"),
    ),
    version_columns=("t.received_at",),
    partition_source="t.occurred_at",
    id_cursor_on_sqlite="t.id",
    transient=("context",),
    append_only=True,
)

# Export order: dimensions first so a run's events see this run's products.
SPECS: tuple[TableSpec, ...] = (
    CATEGORIES,
    PRODUCTS,
    TIERS,
    CUSTOMERS,
    IDENTITIES,
    STAFF_LINKS,
    MEMBERSHIPS,
    ORDERS,
    ORDER_LINES,
    COUPONS,
    POINTS,
    EVENTS,
)
BY_NAME: dict[str, TableSpec] = {spec.name: spec for spec in SPECS}
