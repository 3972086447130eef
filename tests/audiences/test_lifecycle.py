"""Lifecycle stages: both models over time, transitions and ``lifecycle.changed`` events,
the daily distribution, the overview API and the settings API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.audiences import config
from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.audience import (
    AudienceConfig,
    CustomerTrait,
    LifecycleDistribution,
    LifecycleTransition,
)
from siyu.models.outbox import OutboxEvent
from siyu.models.staff import AuditLog, Role
from siyu.warehouse.engine import Warehouse
from tests.audiences.traits_data import (
    new_customers,
    paid_order,
    sync_and_recompute,
    tracked,
)
from tests.catalog.factories import bearer
from tests.coupons.factories import shop_headers
from tests.factories import make_staff


def stages(factory: sessionmaker[Session]) -> dict[int, tuple[str | None, str | None]]:
    with transaction(factory) as session:
        return {
            row.customer_id: (row.aipl_stage, row.ops_stage)
            for row in session.scalars(select(CustomerTrait))
        }


def drain(factory: sessionmaker[Session]) -> tuple[list[tuple[Any, ...]], list[dict[str, Any]]]:
    """The transitions and lifecycle.changed payloads so far, then forget them."""
    with transaction(factory) as session:
        transitions = [
            (row.customer_id, row.model, row.from_stage, row.to_stage)
            for row in session.scalars(
                select(LifecycleTransition).order_by(
                    LifecycleTransition.customer_id, LifecycleTransition.model
                )
            )
        ]
        events = [
            row.payload
            for row in session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.name == "lifecycle.changed")
                .order_by(OutboxEvent.id)
            )
        ]
        session.execute(LifecycleTransition.__table__.delete())
        session.execute(OutboxEvent.__table__.delete())
    return transitions, events


def test_stages_move_with_time_and_orders(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
) -> None:
    start = clock.now()
    with transaction(session_factory) as session:
        buyer, looker, idle, regular = new_customers(session, 4, at=start - timedelta(days=1))
        paid_order(session, buyer, at=start - timedelta(hours=1))
        tracked(session, looker, at=start - timedelta(hours=2), type="product_view")
        tracked(session, idle, at=start - timedelta(hours=2), type="page_view")
        for days in (300, 200, 100):
            paid_order(session, regular, at=start - timedelta(days=days))

    def step(days: int) -> dict[int, tuple[str | None, str | None]]:
        frozen_clock.advance(timedelta(days=days))
        sync_and_recompute(committed_engine, session_factory, warehouse, now=clock.now())
        return stages(session_factory)

    got = step(0)
    assert got == {
        buyer: ("purchased", "new"),
        looker: ("interested", None),
        idle: ("aware", None),
        regular: ("loyal", "dormant"),
    }
    # The first computation records the stages only: no transitions, no events.
    assert drain(session_factory) == ([], [])

    got = step(40)  # buyer's first order is 40 days old; looker's view is outside 30 days
    assert got[buyer] == ("purchased", "active")
    assert got[looker] == ("aware", None)
    transitions, events = drain(session_factory)
    assert transitions == [
        (buyer, "ops", "new", "active"),
        (looker, "aipl", "interested", "aware"),
    ]
    assert events == [
        {"customer_id": buyer, "model": "ops", "from_stage": "new", "to_stage": "active"},
        {"customer_id": looker, "model": "aipl", "from_stage": "interested", "to_stage": "aware"},
    ]

    # buyer: 100 days since the order → dormant; regular: last order 200 days ago →
    # churned, and only two orders within 365 days → no longer loyal.
    got = step(60)
    assert got[buyer] == ("purchased", "dormant")
    assert got[regular] == ("purchased", "churned")
    assert drain(session_factory)[0] == [
        (buyer, "ops", "active", "dormant"),
        (regular, "aipl", "loyal", "purchased"),
        (regular, "ops", "dormant", "churned"),
    ]

    # The dormant buyer orders again: recalled, since the returning order.
    returning_at = clock.now() - timedelta(hours=3)
    with transaction(session_factory) as session:
        paid_order(session, buyer, at=returning_at)
    got = step(0)
    assert got[buyer] == ("purchased", "recalled")
    with transaction(session_factory) as session:
        row = session.get(CustomerTrait, buyer)
        assert row is not None
        assert row.ops_stage_since == returning_at
    transitions, events = drain(session_factory)
    assert transitions == [(buyer, "ops", "dormant", "recalled")]
    assert events == [
        {"customer_id": buyer, "model": "ops", "from_stage": "dormant", "to_stage": "recalled"}
    ]

    got = step(60)  # still within one active window (90 days) of the returning order
    assert got[buyer] == ("purchased", "recalled")
    assert drain(session_factory) == ([], [])

    got = step(31)  # 91 days after the returning order, no order since → dormant
    assert got[buyer] == ("purchased", "dormant")
    assert drain(session_factory)[0] == [(buyer, "ops", "recalled", "dormant")]

    # Every run kept that day's distribution of both models (zero for empty stages).
    with transaction(session_factory) as session:
        days = session.scalar(select(func.count(func.distinct(LifecycleDistribution.day))))
        assert days == 5
        today = session.scalar(select(func.max(LifecycleDistribution.day)))
        rows = {
            (row.model, row.stage): row.customers
            for row in session.scalars(
                select(LifecycleDistribution).where(LifecycleDistribution.day == today)
            )
        }
    assert rows == {
        ("aipl", "aware"): 2,
        ("aipl", "interested"): 0,
        ("aipl", "purchased"): 2,
        ("aipl", "loyal"): 0,
        ("ops", "new"): 0,
        ("ops", "active"): 0,
        ("ops", "dormant"): 1,
        ("ops", "churned"): 1,
        ("ops", "recalled"): 0,
    }


def test_tier_rank_and_a_wecom_contact_count_when_configured(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    frozen_clock: clock.FrozenClock,
) -> None:
    from siyu.staff.principal import command_line_principal
    from tests.warehouse.factories import make_membership, make_staff_link, make_tier

    now = clock.now()
    with transaction(session_factory) as session:
        document = config.load(session).model_dump(mode="json")
        document["aipl"]["loyal_min_tier_rank"] = 2
        config.save(session, document, command_line_principal("test"))
        gold_id, contact_id = new_customers(session, 2, at=now - timedelta(days=5))
        from siyu.models.customer import Customer

        gold = session.get(Customer, gold_id)
        contact = session.get(Customer, contact_id)
        assert gold is not None
        assert contact is not None
        make_membership(session, gold, make_tier(session, at=now, rank=2), at=now)
        staff = make_staff(session, roles=[Role.GUIDE])
        make_staff_link(session, contact, staff.id, at=now - timedelta(days=1))
    sync_and_recompute(committed_engine, session_factory, warehouse, now=now)
    got = stages(session_factory)
    assert got[gold_id] == ("loyal", None)
    assert got[contact_id] == ("interested", None)


def test_lifecycle_api(api: TestClient, session: Session, frozen_clock: clock.FrozenClock) -> None:
    now = clock.now()
    first, second = new_customers(session, 2, at=now)
    session.add_all(
        [
            CustomerTrait(
                customer_id=first, aipl_stage="loyal", ops_stage="active", computed_at=now
            ),
            CustomerTrait(customer_id=second, aipl_stage="aware", computed_at=now),
            LifecycleDistribution(day=now.date(), model="ops", stage="active", customers=7),
            LifecycleDistribution(
                day=(now - timedelta(days=200)).date(), model="ops", stage="active", customers=1
            ),
            LifecycleTransition(
                customer_id=first, model="ops", from_stage="new", to_stage="active", at=now
            ),
        ]
    )
    session.flush()
    url = "/api/v1/audiences/lifecycle"
    assert api.get(url).status_code == 401
    assert api.get(url, headers=shop_headers(session, first)).status_code == 401
    assert api.get(url, headers=bearer(session, Role.ANALYST)).status_code == 403
    body = api.get(url, headers=bearer(session, Role.OPERATOR)).json()
    current = {entry["model"]: entry["stages"] for entry in body["current"]}
    assert current["aipl"] == [
        {"stage": "aware", "customers": 1},
        {"stage": "interested", "customers": 0},
        {"stage": "purchased", "customers": 0},
        {"stage": "loyal", "customers": 1},
    ]
    assert current["ops"][1] == {"stage": "active", "customers": 1}
    assert body["history"] == [
        {"day": now.date().isoformat(), "model": "ops", "stage": "active", "customers": 7}
    ]
    assert [(t["customer_id"], t["from_stage"], t["to_stage"]) for t in body["transitions"]] == [
        (first, "new", "active")
    ]
    only_aipl = api.get(url + "?model=aipl", headers=bearer(session, Role.OPERATOR)).json()
    assert [entry["model"] for entry in only_aipl["current"]] == ["aipl"]
    assert only_aipl["transitions"] == []
    bad = api.get(url + "?model=other", headers=bearer(session, Role.OPERATOR))
    assert bad.status_code == 422


def test_config_api_matrix_validation_and_audit(api: TestClient, session: Session) -> None:
    url = "/api/v1/audiences/config"
    customer_id = new_customers(session, 1, at=clock.now())[0]
    manager = bearer(session, Role.OPERATOR)
    assert api.get(url).status_code == 401
    assert api.get(url, headers=shop_headers(session, customer_id)).status_code == 401
    assert api.get(url, headers=bearer(session, Role.ANALYST)).status_code == 403
    defaults = api.get(url, headers=manager).json()
    assert defaults["operational"] == {"new_days": 30, "active_days": 90, "churn_days": 180}
    assert defaults["rfm"]["split"] == 3

    changed = {**defaults, "operational": {"new_days": 14, "active_days": 60, "churn_days": 120}}
    assert api.put(url, json=changed).status_code == 401
    assert api.put(url, json=changed, headers=bearer(session, Role.ANALYST)).status_code == 403
    assert session.scalar(select(func.count()).select_from(AudienceConfig)) == 0

    for broken, where in (
        ({"operational": {"new_days": 100, "active_days": 60, "churn_days": 120}}, "operational"),
        ({"rfm": {"thresholds": {"recency_days": [30, 20, 90, 180]}}}, "rfm"),
        ({"rfm": {"split": 9}}, "rfm"),
        ({"unknown": 1}, "unknown"),
    ):
        refused = api.put(url, json=broken, headers=manager)
        assert refused.status_code == 422
        assert refused.json()["code"] == "audience.config_invalid"
        assert refused.json()["data"]["errors"][0]["loc"][0] == where
    assert session.scalar(select(func.count()).select_from(AudienceConfig)) == 0

    saved = api.put(url, json=changed, headers=manager)
    assert saved.status_code == 200
    assert saved.json()["operational"] == {"new_days": 14, "active_days": 60, "churn_days": 120}
    assert api.get(url, headers=manager).json() == saved.json()
    audit = session.scalars(
        select(AuditLog).where(AuditLog.action == "audiences.config.update")
    ).one()
    assert audit.detail["after"]["operational"]["new_days"] == 14
