"""Operator API: create, read with counters, change before start, publish, audit;
authorization matrix; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.models.campaign import Campaign
from siyu.models.flash_sale import FlashSaleItem, FlashSaleSession
from siyu.models.job import Job
from siyu.models.staff import Role
from tests.catalog.factories import bearer
from tests.coupons.factories import shop_headers
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import make_shelf

URL = "/api/v1/campaigns/flash-sale"


def _body(sku_id: int, **changes: Any) -> dict[str, Any]:
    starts = clock.now() + timedelta(hours=1)
    body: dict[str, Any] = {
        "campaign": {
            "name": "双11 秒杀",
            "lifecycle_stage": "convert",
            "warmup_at": (starts - timedelta(hours=1)).isoformat(),
            "starts_at": starts.isoformat(),
            "ends_at": (starts + timedelta(hours=4)).isoformat(),
        },
        "sessions": [
            {
                "name": "20:00 场",
                "starts_at": starts.isoformat(),
                "ends_at": (starts + timedelta(hours=1)).isoformat(),
                "items": [
                    {
                        "sku_id": sku_id,
                        "campaign_price": 990,
                        "starting_stock": 100,
                        "per_customer_limit": 2,
                    }
                ],
            }
        ],
    }
    body.update(changes)
    return body


def _count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _snapshot(session: Session) -> tuple[int, int, int]:
    return (
        _count(session, Campaign),
        _count(session, FlashSaleSession),
        _count(session, FlashSaleItem),
    )


def test_create_read_publish_and_audit(api: TestClient, session: Session) -> None:
    sku = make_shelf(session, prices=(5900,)).skus[0]
    headers = bearer(session)
    created = api.post(URL, json=_body(sku.id), headers=headers)
    assert created.status_code == 201, created.text
    sale = created.json()
    assert (sale["status"], sale["phase"]) == ("draft", "draft")
    [row] = sale["sessions"]
    assert row["stock_engine"] is None
    assert row["items"][0] | {"public_id": "x"} == {
        "public_id": "x",
        "sku_id": sku.id,
        "product_name": "丝绒口红",
        "specs": row["items"][0]["specs"],
        "image": row["items"][0]["image"],
        "list_price": 5900,
        "campaign_price": 990,
        "starting_stock": 100,
        "stock_left": 100,
        "reserved": 0,
        "sold": 0,
        "per_customer_limit": 2,
    }
    assert sale["counters"] == {
        "stock_left": 100,
        "reserved": 0,
        "sold": 0,
        "orders": 0,
        "gmv_amount": 0,
    }
    public_id = sale["campaign_public_id"]
    published = api.post(f"{URL}/{public_id}/publish", headers=headers).json()
    assert published["status"] == "published"
    assert published["sessions"][0]["stock_engine"] == "database"
    assert _count(session, Job) >= 1  # the sweep after the session
    listed = api.get(URL, headers=headers).json()["items"]
    assert [item["campaign_public_id"] for item in listed] == [public_id]
    assert api.get(f"{URL}/{public_id}", headers=headers).json()["name"] == "双11 秒杀"
    audit = api.get(f"{URL}/sessions/{row['public_id']}/audit", headers=headers).json()
    assert audit["balanced"] is True
    assert audit["items"][0]["stock_left"] == 100


def test_update_before_start_and_locked_after(api: TestClient, session: Session) -> None:
    sku = make_shelf(session, prices=(5900,)).skus[0]
    headers = bearer(session)
    sale = api.post(URL, json=_body(sku.id), headers=headers).json()
    session_id = sale["sessions"][0]["public_id"]
    changed = api.patch(
        f"{URL}/sessions/{session_id}",
        json={
            "name": "21:00 场",
            "items": [{"sku_id": sku.id, "campaign_price": 500, "starting_stock": 5}],
        },
        headers=headers,
    )
    assert changed.status_code == 200, changed.text
    [row] = changed.json()["sessions"]
    assert (row["name"], row["items"][0]["campaign_price"], row["items"][0]["stock_left"]) == (
        "21:00 场",
        500,
        5,
    )
    clock_holder = clock.install(clock.FrozenClock(clock.now() + timedelta(hours=1, minutes=5)))
    try:
        before = _snapshot(session)
        locked = api.patch(f"{URL}/sessions/{session_id}", json={"name": "x"}, headers=headers)
        assert (locked.status_code, locked.json()["code"]) == (409, "flash_sale.locked")
        assert _snapshot(session) == before
    finally:
        clock.install(clock_holder)


def test_bad_input_is_refused_and_changes_nothing(api: TestClient, session: Session) -> None:
    sku = make_shelf(session, prices=(5900,)).skus[0]
    headers = bearer(session)
    before = _snapshot(session)
    good = _body(sku.id)
    outside = _body(sku.id)
    outside["sessions"][0]["ends_at"] = (clock.now() + timedelta(days=2)).isoformat()
    above = _body(sku.id)
    above["sessions"][0]["items"][0]["campaign_price"] = 6000
    twice = _body(sku.id)
    twice["sessions"][0]["items"].append(dict(good["sessions"][0]["items"][0]))
    unknown = _body(999_999)
    for body, code in [
        (outside, "flash_sale.invalid"),
        (above, "flash_sale.invalid"),
        (twice, "flash_sale.invalid"),
        (unknown, "flash_sale.invalid"),
    ]:
        response = api.post(URL, json=body, headers=headers)
        assert (response.status_code, response.json()["code"]) == (422, code), body
    no_items = _body(sku.id)
    no_items["sessions"][0]["items"] = []
    assert api.post(URL, json=no_items, headers=headers).status_code == 422
    assert _snapshot(session) == before


def test_authorization_matrix(api: TestClient, session: Session) -> None:
    sku = make_shelf(session, prices=(5900,)).skus[0]
    admin = bearer(session)
    sale = api.post(URL, json=_body(sku.id), headers=admin).json()
    public_id, session_id = sale["campaign_public_id"], sale["sessions"][0]["public_id"]
    shop = shop_headers(session, make_customer(session, make_cipher()).id)
    analyst = bearer(session, Role.ANALYST)
    guide = bearer(session, Role.GUIDE)
    routes: list[tuple[str, str, Any]] = [
        ("GET", URL, None),
        ("POST", URL, _body(sku.id)),
        ("GET", f"{URL}/{public_id}", None),
        ("POST", f"{URL}/{public_id}/publish", None),
        ("PATCH", f"{URL}/sessions/{session_id}", {"name": "x"}),
        ("GET", f"{URL}/sessions/{session_id}/audit", None),
    ]
    before = _snapshot(session)
    for method, url, body in routes:
        assert api.request(method, url, json=body).status_code == 401, url
        assert api.request(method, url, json=body, headers=shop).status_code == 401, url
        assert api.request(method, url, json=body, headers=analyst).status_code == 403, url
        assert api.request(method, url, json=body, headers=guide).status_code == 403, url
    assert _snapshot(session) == before
    allowed = [200, 201, 200, 200, 200, 200]
    for (method, url, body), status in zip(routes, allowed, strict=True):
        response = api.request(method, url, json=body, headers=admin)
        assert response.status_code == status, (url, response.text)
