"""Incremental export on both databases: watermarks, versions, partitions, merges."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import timedelta

from sqlalchemy import Engine, update
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.models.coupon import Coupon
from siyu.models.customer import Customer, CustomerStatus
from siyu.models.member import PointsEntry
from siyu.models.order import Order
from siyu.models.tracking import TrackedEvent
from siyu.warehouse import export, files, state
from siyu.warehouse.engine import Warehouse
from siyu.warehouse.tables import FULL_REFRESH_INTERVAL
from tests.warehouse.conftest import T0
from tests.warehouse.factories import (
    make_catalog,
    make_coupon,
    make_customer,
    make_event,
    make_identity,
    make_membership,
    make_order,
    make_points,
    make_tier,
)

Write = Callable[[], AbstractContextManager[Session]]


def _rows(wh: Warehouse, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with wh.connect() as con:
        return con.execute(sql, params or []).fetchall()


def test_first_sync_exports_every_table_and_second_exports_nothing(
    committed_engine: Engine, write: Write, wh: Warehouse, frozen_clock: FrozenClock
) -> None:
    with write() as session:
        _category, product = make_catalog(session, at=T0)
        customer = make_customer(session, at=T0, city="上海")
        make_identity(session, customer, kind="phone", at=T0, value="13800000000")
        make_event(
            session,
            customer,
            occurred_at=T0,
            properties={"spu_id": product.id, "colour": "正红"},
            context={"campaign_id": 7, "guide_id": 9},
        )
        make_event(session, customer, occurred_at=T0 + timedelta(days=1), type="page_view")
        make_order(session, customer, at=T0, product=product)
        tier = make_tier(session, at=T0)
        make_membership(session, customer, tier, at=T0)
        make_coupon(session, customer, at=T0)
        make_points(session, customer, at=T0)
        customer_id, product_id, category_id = customer.id, product.id, product.category_id

    first = export.sync(committed_engine, wh, now=T0 + timedelta(hours=1))
    assert first.rows == {
        "categories": 1,
        "products": 1,
        "tiers": 1,
        "customers": 1,
        "identities": 1,
        "staff_links": 0,
        "memberships": 1,
        "orders": 1,
        "order_lines": 1,
        "coupons": 1,
        "points": 1,
        "events": 2,
    }
    assert first.touched_customer_ids.to_pylist() == [customer_id]
    second = export.sync(committed_engine, wh, now=T0 + timedelta(hours=1, minutes=1))
    assert sum(second.rows.values()) == 0
    assert second.touched_customer_ids.to_pylist() == []

    events = _rows(
        wh,
        "SELECT customer_id, type, campaign_id, guide_id, product_id, category_id, "
        "properties::JSON->>'colour', day FROM events ORDER BY occurred_at",
    )
    assert events == [
        (customer_id, "product_view", 7, 9, product_id, category_id, "正红", T0.date()),
        (
            customer_id,
            "page_view",
            None,
            None,
            None,
            None,
            None,
            (T0 + timedelta(days=1)).date(),
        ),
    ]
    # Hive partitions by day; identities carry no value.
    assert _rows(wh, "SELECT count(*) FROM events WHERE day = DATE '2026-11-21'") == [(1,)]
    assert (wh.root / "events" / "day=2026-11-20").is_dir()
    assert (wh.root / "orders" / "day=2026-11-20").is_dir()
    assert _rows(wh, "SELECT * FROM identities") == [
        (customer_id, "phone", "ns", T0.replace(tzinfo=None))
    ]
    assert b"13800000000" not in b"".join(path.read_bytes() for path in wh.root.rglob("*.parquet"))
    assert _rows(wh, "SELECT customer_id, city FROM live_customers") == [(customer_id, "上海")]


def test_changed_rows_are_exported_once_and_latest_version_wins(
    committed_engine: Engine, write: Write, wh: Warehouse, frozen_clock: FrozenClock
) -> None:
    with write() as session:
        customer = make_customer(session, at=T0)
        order = make_order(session, customer, at=T0, total=5000)
        customer_id, order_id = customer.id, order.id
    export.sync(committed_engine, wh, now=T0)

    # The same timestamp as before (a frozen clock): the content hash still tells.
    with write() as session:
        session.execute(
            update(Order)
            .where(Order.id == order_id)
            .values(status="refunded", refunded_amount=5000)
        )
        make_event(session, session.get(Customer, customer_id), occurred_at=T0)  # type: ignore[arg-type]
    result = export.sync(committed_engine, wh, now=T0 + timedelta(minutes=1))
    assert result.rows["orders"] == 1
    # The line itself did not change: re-read in the window, but not written again.
    assert result.rows["order_lines"] == 0
    assert result.rows["events"] == 1
    assert result.rows["customers"] == 0
    assert _rows(wh, "SELECT order_id, status, refunded_amount FROM orders") == [
        (order_id, "refunded", 5000)
    ]
    again = export.sync(committed_engine, wh, now=T0 + timedelta(minutes=2))
    assert sum(again.rows.values()) == 0

    later = T0 + timedelta(hours=2)
    with write() as session:
        session.execute(
            update(Order).where(Order.id == order_id).values(status="completed", updated_at=later)
        )
    result = export.sync(committed_engine, wh, now=later)
    assert result.rows["orders"] == 1
    assert result.touched_customer_ids.to_pylist() == [customer_id]
    assert _rows(wh, "SELECT status FROM orders") == [("completed",)]
    assert _rows(wh, "SELECT count(*) FROM order_lines") == [(1,)]
    manifest = state.load(wh.root)
    assert len(manifest.table("orders").files) == 3
    assert manifest.table("orders").watermark == later.replace(tzinfo=None).isoformat()


def test_merged_customers_resolve_to_the_survivor(
    committed_engine: Engine, write: Write, wh: Warehouse, frozen_clock: FrozenClock
) -> None:
    with write() as session:
        survivor = make_customer(session, at=T0)
        merged = make_customer(session, at=T0)
        tier = make_tier(session, at=T0)
        make_membership(session, merged, tier, at=T0)
        make_event(session, merged, occurred_at=T0)
        make_order(session, merged, at=T0)
        make_identity(session, merged, kind="mp_openid", at=T0)
        survivor_id, merged_id = survivor.id, merged.id
    export.sync(committed_engine, wh, now=T0)
    assert _rows(wh, "SELECT DISTINCT customer_id FROM events") == [(merged_id,)]

    later = T0 + timedelta(minutes=5)
    with write() as session:
        session.execute(
            update(Customer)
            .where(Customer.id == merged_id)
            .values(status=CustomerStatus.MERGED, merged_into_id=survivor_id, updated_at=later)
        )
    result = export.sync(committed_engine, wh, now=later)
    assert result.touched_customer_ids.to_pylist() == [survivor_id]
    for view in ("events", "orders", "order_lines", "identities"):
        assert _rows(wh, f"SELECT DISTINCT customer_id FROM {view}") == [(survivor_id,)], view
    assert _rows(wh, "SELECT count(*) FROM memberships") == [(0,)]
    assert _rows(wh, "SELECT customer_id FROM live_customers") == [(survivor_id,)]
    assert _rows(wh, "SELECT customer_id, status FROM customers ORDER BY 1") == [
        (survivor_id, "active"),
        (merged_id, "merged"),
    ]
    # Pinned for a long run (the customers now span two files): the same answers.
    views = ("events", "orders", "order_lines", "identities", "live_customers", "customers")
    with wh.connect() as con:
        unpinned = {v: con.sql(f"SELECT customer_id FROM {v} ORDER BY 1").fetchall() for v in views}
        wh.pin_customers(con)
        pinned = {v: con.sql(f"SELECT customer_id FROM {v} ORDER BY 1").fetchall() for v in views}
        plan = str(con.sql("EXPLAIN SELECT * FROM live_customers").fetchall())
    assert pinned == unpinned
    assert "_pinned_customers" in plan


def test_erased_customers_identities_are_hidden(
    committed_engine: Engine, write: Write, wh: Warehouse, frozen_clock: FrozenClock
) -> None:
    with write() as session:
        customer = make_customer(session, at=T0)
        make_identity(session, customer, kind="phone", at=T0)
        customer_id = customer.id
    export.sync(committed_engine, wh, now=T0)
    with write() as session:
        session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(status=CustomerStatus.ERASED, updated_at=T0 + timedelta(minutes=1))
        )
    export.sync(committed_engine, wh, now=T0 + timedelta(minutes=1))
    assert _rows(wh, "SELECT count(*) FROM identities") == [(0,)]
    assert _rows(wh, "SELECT count(*) FROM live_customers") == [(0,)]


def test_compaction_merges_small_files_into_one_without_duplicates(
    committed_engine: Engine, write: Write, wh: Warehouse, frozen_clock: FrozenClock
) -> None:
    with write() as session:
        customer = make_customer(session, at=T0)
        order = make_order(session, customer, at=T0)
        customer_id, order_id = customer.id, order.id
    moment = T0
    for step in range(files.COMPACT_MIN_FILES):
        moment = T0 + timedelta(minutes=step + 1)
        with write() as session:
            make_event(session, session.get(Customer, customer_id), occurred_at=T0)  # type: ignore[arg-type]
            session.execute(
                update(Order)
                .where(Order.id == order_id)
                .values(items_amount=step, total_amount=step, paid_amount=step, updated_at=moment)
            )
        export.sync(committed_engine, wh, now=moment)
    manifest = state.load(wh.root)
    events = manifest.table("events").files
    assert [entry.rows for entry in events] == [files.COMPACT_MIN_FILES]
    assert events[0].path.endswith("-c.parquet")
    assert [entry.rows for entry in manifest.table("orders").files] == [1]
    assert _rows(wh, "SELECT count(*), count(DISTINCT id) FROM events") == [
        (files.COMPACT_MIN_FILES, files.COMPACT_MIN_FILES)
    ]
    last = files.COMPACT_MIN_FILES - 1
    assert _rows(wh, "SELECT total_amount FROM orders") == [(last,)]
    # Replaced files stay for readers that listed them, then go after the grace.
    # (This run's own small files were merged before being listed: deleted at once.)
    assert len(manifest.retired) == 2 * (files.COMPACT_MIN_FILES - 1)
    export.sync(committed_engine, wh, now=moment + files.RETIRED_GRACE)
    assert state.load(wh.root).retired == []
    assert sorted(p.name for p in (wh.root / "events").rglob("*.parquet")) == [
        events[0].path.rsplit("/", 1)[1]
    ]


def test_event_rows_read_in_batches(
    committed_engine: Engine,
    write: Write,
    wh: Warehouse,
    frozen_clock: FrozenClock,
    monkeypatch: object,
) -> None:
    import pytest

    patch = pytest.MonkeyPatch()
    patch.setattr(export, "BATCH_ROWS", 3)
    try:
        with write() as session:
            customer = make_customer(session, at=T0)
            for day in range(7):
                make_event(session, customer, occurred_at=T0 + timedelta(days=day % 3))
        result = export.sync(committed_engine, wh, now=T0)
    finally:
        patch.undo()
    assert result.rows["events"] == 7
    assert _rows(wh, "SELECT day, count(*) FROM events GROUP BY day ORDER BY day") == [
        (T0.date(), 3),
        ((T0 + timedelta(days=1)).date(), 2),
        ((T0 + timedelta(days=2)).date(), 2),
    ]
    assert len(state.load(wh.root).table("events").files) == 3
    assert TrackedEvent.__tablename__ == "tracked_event"


def test_changes_without_a_time_arrive_with_the_hourly_full_refresh(
    committed_engine: Engine, write: Write, wh: Warehouse
) -> None:
    with write() as session:
        customer = make_customer(session, at=T0)
        coupon_id = make_coupon(session, customer, at=T0).id
        order = make_order(session, customer, at=T0)
        entry = make_points(session, customer, at=T0)
        entry.order_id = order.id
        entry.status = "frozen"
        order_id, entry_id = order.id, entry.id
    export.sync(committed_engine, wh, now=T0)
    with write() as session:
        # A newer coupon moves the coupons' watermark past the first one's window.
        make_coupon(session, make_customer(session, at=T0), at=T0 + timedelta(minutes=5))
    export.sync(committed_engine, wh, now=T0 + timedelta(minutes=5))
    later = T0 + timedelta(minutes=10)
    with write() as session:
        # A revoke stamps no time: invisible to the incremental cursor...
        session.execute(update(Coupon).where(Coupon.id == coupon_id).values(status="revoked"))
        # ...while an entry unfreezing rides on its order turning final.
        session.execute(
            update(PointsEntry).where(PointsEntry.id == entry_id).values(status="available")
        )
        session.execute(
            update(Order).where(Order.id == order_id).values(final_at=later, updated_at=later)
        )
    soon = export.sync(committed_engine, wh, now=later)
    assert (soon.rows["coupons"], soon.rows["points"], soon.rows["orders"]) == (0, 1, 1)
    assert _rows(wh, "SELECT status FROM coupons WHERE coupon_id = ?", [coupon_id]) == [
        ("available",)
    ]
    assert _rows(wh, "SELECT status FROM points") == [("available",)]
    hour = T0 + FULL_REFRESH_INTERVAL
    refreshed = export.sync(committed_engine, wh, now=hour)
    assert refreshed.rows["coupons"] == 2
    assert _rows(wh, "SELECT status FROM coupons WHERE coupon_id = ?", [coupon_id]) == [
        ("revoked",)
    ]
    manifest = state.load(wh.root)
    # The full refresh replaced the table's files with one.
    assert len(manifest.table("coupons").files) == 1
    assert manifest.table("coupons").last_full_refresh_at == hour.replace(tzinfo=None).isoformat()
