"""RFM: exact tie behaviour of the quantile scores, thresholds, the 8 groups as tags,
and the matrix API (with its authorization matrix)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.audiences import config, refresh, rfm
from siyu.audiences.config_schemas import AudienceSettings
from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.audience import CustomerTrait, TagGroup
from siyu.models.customer import CustomerTag, Tag
from siyu.models.staff import Role
from siyu.staff.principal import command_line_principal
from siyu.warehouse.engine import Warehouse
from tests.audiences.traits_data import (
    make_trait,
    new_customers,
    paid_order,
    sync_and_recompute,
)
from tests.audiences.traits_reference import quantile_scores
from tests.catalog.factories import bearer
from tests.coupons.factories import shop_headers


def scores(factory: sessionmaker[Session]) -> dict[int, tuple[int | None, ...] | str | None]:
    with transaction(factory) as session:
        return {
            row.customer_id: (row.rfm_recency, row.rfm_frequency, row.rfm_monetary, row.rfm_group)
            for row in session.scalars(select(CustomerTrait))
        }


def tag_holders(factory: sessionmaker[Session]) -> dict[str, list[int]]:
    with transaction(factory) as session:
        group = session.scalars(select(TagGroup).where(TagGroup.name == rfm.TAG_GROUP)).one()
        assert group.is_exclusive
        tags = session.scalars(select(Tag).where(Tag.group_name == rfm.TAG_GROUP)).all()
        assert sorted(tag.name for tag in tags) == sorted(rfm.GROUP_CODES)
        assert all(tag.rule == rfm.tag_rule(tag.name) for tag in tags)
        return {
            tag.name: sorted(
                session.scalars(select(CustomerTag.customer_id).where(CustomerTag.tag_id == tag.id))
            )
            for tag in tags
        }


def test_quantile_scores_give_equal_values_equal_scores(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
) -> None:
    now = clock.now()
    paid_at = now - timedelta(days=3)
    counts = [1, 1, 1, 1, 1, 1, 2, 2, 3, 4]
    with transaction(session_factory) as session:
        ids = new_customers(session, len(counts) + 1, at=now - timedelta(days=400))
        for customer_id, count in zip(ids, counts, strict=False):
            for _ in range(count):
                paid_order(session, customer_id, at=paid_at)
    sync_and_recompute(committed_engine, session_factory, warehouse, now=now)
    got = scores(session_factory)
    # n = 10 scored; F ranks: 1 (six ties) → 1, 7 → 1 + 5·6//10 = 4, 9 → 5, 10 → 5.
    # Every last order is at the same instant: one tie, rank 1, R = 1 for all.
    expected_f = [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    for customer_id, frequency in zip(ids, expected_f, strict=False):
        group = "important_keep" if frequency >= 3 else "general_retain"
        assert got[customer_id] == (1, frequency, frequency, group)
    assert got[ids[-1]] == (None, None, None, None)  # no paid order: unscored
    holders = tag_holders(session_factory)
    assert holders["important_keep"] == ids[6:10]
    assert holders["general_retain"] == ids[:6]
    others = set(rfm.GROUP_CODES) - {"important_keep", "general_retain"}
    assert all(holders[code] == [] for code in others)
    # The rule-tag refresh evaluates the tags' rules (trait rfm_group = code) to the same
    # holders, without errors.
    with transaction(session_factory) as session:
        summary = refresh.refresh_all(session, warehouse, now=now, include_traits=False)
    assert summary.tag_errors == {}
    assert tag_holders(session_factory) == holders


def test_thresholds_and_the_split_decide_the_groups(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
) -> None:
    now = clock.now()
    with transaction(session_factory) as session:
        document = config.load(session).model_dump(mode="json")
        document["rfm"]["method"] = "thresholds"
        config.save(session, document, command_line_principal("test"))
        recent, lapsed = new_customers(session, 2, at=now - timedelta(days=900))
        for days in range(8):  # 8 orders, the last 10 days ago, 8 × 50,000 fen
            paid_order(session, recent, at=now - timedelta(days=10 + days), amount=50_000)
        paid_order(session, lapsed, at=now - timedelta(days=200), amount=60_000)
    sync_and_recompute(committed_engine, session_factory, warehouse, now=now)
    got = scores(session_factory)
    # recent: 10 days ≤ 30 → R5; 8 orders ≥ all of [2,3,5,8] → F5; 400,000 ≥ 300,000 → M5.
    assert got[recent] == (5, 5, 5, "important_value")
    # lapsed: 200 days in (180, 365] → R2; one order → F1; 60,000 ≥ 20,000, 50,000 → M3.
    assert got[lapsed] == (2, 1, 3, "important_retain")
    # Time alone moves threshold recency: 170 days later the recent one is at 180 days.
    frozen_clock.advance(timedelta(days=170))
    sync_and_recompute(committed_engine, session_factory, warehouse, now=clock.now())
    assert scores(session_factory)[recent] == (3, 5, 5, "important_value")
    assert tag_holders(session_factory)["important_value"] == [recent]


def test_group_of_covers_the_eight_groups() -> None:
    seen = {rfm.group_of(r, f, m, 3) for r in (1, 5) for f in (2, 3) for m in (3, 1)}
    assert seen == set(rfm.GROUP_CODES)
    assert rfm.group_of(3, 3, 3, 3) == "important_value"
    assert rfm.group_of(3, 3, 3, 4) == "general_retain"


def test_rfm_matrix_api(api: TestClient, session: Session, frozen_clock: clock.FrozenClock) -> None:
    now = clock.now()
    ids = new_customers(session, 4, at=now)
    session.add_all(
        [
            make_trait(
                ids[0],
                rfm_recency=5,
                rfm_frequency=5,
                rfm_monetary=5,
                rfm_group="important_value",
                spend_total=30000,
                last_order_at=now - timedelta(days=2),
            ),
            make_trait(
                ids[1],
                rfm_recency=4,
                rfm_frequency=3,
                rfm_monetary=4,
                rfm_group="important_value",
                spend_total=10000,
                last_order_at=now - timedelta(days=4),
            ),
            make_trait(
                ids[2],
                rfm_recency=1,
                rfm_frequency=1,
                rfm_monetary=1,
                rfm_group="general_retain",
                spend_total=500,
                last_order_at=now - timedelta(days=300),
            ),
            make_trait(ids[3]),
        ]
    )
    session.flush()
    headers = bearer(session, Role.OPERATOR)
    body = api.get("/api/v1/audiences/rfm", headers=headers).json()
    assert (body["scored"], body["unscored"], body["split"], body["method"]) == (
        3,
        1,
        3,
        "quantile",
    )
    groups = {group["code"]: group for group in body["groups"]}
    assert list(groups) == list(rfm.GROUP_CODES)
    assert groups["important_value"] == {
        "code": "important_value",
        "label": "重要价值",
        "customers": 2,
        "share_bp": 6666,
        "spend_fen": 40000,
        "avg_recency_days": 3.0,
    }
    assert groups["general_retain"]["avg_recency_days"] == 300.0
    assert groups["important_keep"] == {
        "code": "important_keep",
        "label": "重要保持",
        "customers": 0,
        "share_bp": 0,
        "spend_fen": 0,
        "avg_recency_days": None,
    }
    grid = {(cell["recency"], cell["frequency"]): cell["customers"] for cell in body["grid"]}
    assert len(grid) == 25
    assert [grid[(5, 5)], grid[(4, 3)], grid[(1, 1)]] == [1, 1, 1]
    assert sum(grid.values()) == 3


def test_rfm_api_authorization_matrix(api: TestClient, session: Session) -> None:
    customer_id = new_customers(session, 1, at=clock.now())[0]
    url = "/api/v1/audiences/rfm"
    assert api.get(url).status_code == 401
    assert api.get(url, headers=shop_headers(session, customer_id)).status_code == 401
    assert api.get(url, headers=bearer(session, Role.ANALYST)).status_code == 403
    assert api.get(url, headers=bearer(session, Role.OPERATOR)).status_code == 200


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.tuples(st.integers(0, 6), st.integers(1, 4), st.integers(0, 5)), min_size=1, max_size=40
    ),
    split=st.integers(2, 5),
)
def test_quantile_scores_match_the_rank_formula(
    values: list[tuple[int, int, int]], split: int
) -> None:
    """The SQL scores equal 1 + ⌊5·(rank−1)/n⌋ (rank = 1 + the number of smaller values)
    computed in Python, ties included, on many small random populations."""
    base = pa.table(
        {
            "customer_id": pa.array(range(1, len(values) + 1), pa.int64()),
            "last_order_at": pa.array(
                [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=days) for days, _, _ in values],
                pa.timestamp("us"),
            ),
            "orders_total": pa.array([orders for _, orders, _ in values], pa.int64()),
            "spend_total": pa.array([100 * spend for _, _, spend in values], pa.int64()),
        }
    )
    con = duckdb.connect()
    con.register("_base", base)
    con.execute("CREATE TEMP TABLE _scope AS SELECT customer_id FROM _base")
    document = AudienceSettings().model_dump()
    document["rfm"]["split"] = split
    con.execute(rfm.scores_sql(AudienceSettings.model_validate(document), subset=False))
    got = {
        row[0]: row[1:] for row in con.execute("SELECT * FROM _rfm ORDER BY customer_id").fetchall()
    }
    con.close()
    ids = range(1, len(values) + 1)
    recency = quantile_scores(dict(zip(ids, (v[0] for v in values), strict=True)))
    frequency = quantile_scores(dict(zip(ids, (v[1] for v in values), strict=True)))
    monetary = quantile_scores(dict(zip(ids, (v[2] for v in values), strict=True)))
    for customer_id in ids:
        r, f, m = recency[customer_id], frequency[customer_id], monetary[customer_id]
        assert got[customer_id] == (r, f, m, rfm.group_of(r, f, m, split))
