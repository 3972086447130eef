"""Rule API: the field catalogue, validation with paths, and a preview against a real
warehouse built by the exporter (count, scoped sample with masked names, text)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from siyu.app import create_app
from siyu.audiences.rules.preview import sample_customers
from siyu.audiences.rules.schemas import RuleSampleCustomer
from siyu.core import clock
from siyu.core.db import make_session_factory, transaction
from siyu.core.settings import Settings
from siyu.models.customer import Tag
from siyu.models.staff import AuditLog, Role
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.catalog.factories import bearer
from tests.coupons.factories import shop_headers
from tests.customers.factories import make_cipher
from tests.customers.factories import make_customer as make_shop_customer
from tests.factories import make_staff, make_token
from tests.warehouse.factories import make_customer, make_event

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
LOOKERS = {
    "event": "product_view",
    "count": {"op": ">=", "value": 3},
    "window": {"days": 7},
}


def test_authorization_matrix(api: TestClient, session: Session) -> None:
    customer = make_shop_customer(session, make_cipher())
    shop = shop_headers(session, customer.id)
    guide = bearer(session, Role.GUIDE)
    analyst = bearer(session, Role.ANALYST)
    operator = bearer(session, Role.OPERATOR)
    body = {"rule": {"attribute": "city", "op": "=", "value": "上海"}}
    routes = [
        ("GET", "/api/v1/audiences/rules/fields", None),
        ("POST", "/api/v1/audiences/rules/validate", body),
        ("POST", "/api/v1/audiences/rules/preview", body),
    ]
    audits = session.scalar(select(func.count()).select_from(AuditLog))
    for method, url, payload in routes:
        assert api.request(method, url, json=payload).status_code == 401, url
        assert api.request(method, url, json=payload, headers=shop).status_code == 401, url
        assert api.request(method, url, json=payload, headers=guide).status_code == 403, url
        assert api.request(method, url, json=payload, headers=analyst).status_code == 403, url
        assert api.request(method, url, json=payload, headers=operator).status_code == 200, url
    assert session.scalar(select(func.count()).select_from(AuditLog)) == audits


def test_fields_and_validate(api: TestClient, session: Session) -> None:
    headers = bearer(session)
    fields = api.get("/api/v1/audiences/rules/fields", headers=headers).json()
    spend = next(item for item in fields["traits"] if item["name"] == "spend_30d")
    assert spend == {
        "name": "spend_30d",
        "type": "money",
        "zh": "近30天消费金额",
        "en": "Spend in 30 days",
        "operators": [
            "=",
            "!=",
            ">",
            ">=",
            "<",
            "<=",
            "in",
            "not_in",
            "between",
            "is_set",
            "is_not_set",
        ],
        "choices": [],
    }
    tag = Tag(name="干性", group_name="肤质")
    session.add(tag)
    session.flush()
    rule = {"all": [LOOKERS, {"tag": tag.id}]}
    response = api.post("/api/v1/audiences/rules/validate", json={"rule": rule}, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "valid": True,
        "text": {
            "zh": "近 7 天 浏览商品 ≥ 3 次 且 有 标签 肤质/干性",
            "en": "in the last 7 days Product view ≥ 3 times and has tag 肤质/干性",
        },
        "tag_ids": [tag.id],
    }
    bad = {"all": [LOOKERS, {"trait": "spend_30d", "op": ">", "value": "100"}]}
    for url in ("/api/v1/audiences/rules/validate", "/api/v1/audiences/rules/preview"):
        response = api.post(url, json={"rule": bad}, headers=headers)
        assert response.status_code == 400
        problem = response.json()
        assert problem["code"] == "audience.rule_invalid"
        assert problem["data"] == {
            "path": "all[1].value",
            "reason": "spend_30d needs an integer (fen), not '100'",
        }
    response = api.post(
        "/api/v1/audiences/rules/validate", json={"rule": {"tag": tag.id + 99}}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["data"]["path"] == "tag"


def test_preview_counts_the_warehouse_and_samples_in_scope(
    committed_engine: Engine, test_settings: Settings, frozen_clock: clock.FrozenClock
) -> None:
    frozen_clock.set(T0)
    factory = make_session_factory(committed_engine)
    with transaction(factory) as write:
        people = [make_customer(write, at=T0 - timedelta(days=30), city="上海") for _ in range(4)]
        for index, person in enumerate(people):
            person.name = f"王小{index}"
            for days in range(index + 1):
                make_event(write, person, occurred_at=T0 - timedelta(days=days, hours=1))
        ids = [person.id for person in people]
        people[3].store_id = 7
        store_staff_id = make_staff(write, roles=[Role.STORE_MANAGER], store_id=7).id
        operator = {"Authorization": f"Bearer {make_token(write, make_staff(write))}"}
        admin = {
            "Authorization": f"Bearer {make_token(write, make_staff(write, roles=[Role.ADMIN]))}"
        }
    export.sync(committed_engine, Warehouse.from_settings(test_settings), now=clock.now())
    url = "/api/v1/audiences/rules/preview"
    with TestClient(create_app(test_settings, start_worker=False)) as api:
        response = api.post(url, json={"rule": LOOKERS}, headers=operator)
        assert response.status_code == 200, response.text
        data = response.json()
        assert data["count"] == 2
        assert data["sample"] == [
            {"id": ids[2], "name": "王**", "city": "上海"},
            {"id": ids[3], "name": "王**", "city": "上海"},
        ]
        assert data["text"] == "近 7 天 浏览商品 ≥ 3 次"
        assert data["seconds"] >= 0
        body = {"rule": {"not": LOOKERS}, "locale": "en"}
        data = api.post(url, json=body, headers=operator).json()
        assert (data["count"], [row["id"] for row in data["sample"]]) == (2, ids[:2])
        assert data["text"] == "not (in the last 7 days Product view ≥ 3 times)"
        # An admin (customers.pii) sees names.
        data = api.post(url, json={"rule": LOOKERS}, headers=admin).json()
        assert [row["name"] for row in data["sample"]] == ["王小2", "王小3"]
    # The sample never leaves the caller's scope (a store's customers only).
    manager = Principal(
        staff_id=store_staff_id,
        username="manager",
        roles=frozenset({Role.STORE_MANAGER}),
        permissions=frozenset({Permission.AUDIENCES_MANAGE}),
        store_id=7,
    )
    with transaction(factory) as read:
        assert sample_customers(read, manager, pa.array(ids, pa.int64())) == [
            RuleSampleCustomer(id=ids[3], name="王**", city="上海")
        ]
        assert sample_customers(read, manager, pa.array(ids[:3], pa.int64())) == []
