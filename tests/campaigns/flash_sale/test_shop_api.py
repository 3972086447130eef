"""Storefront: the page, and the lean reserve route end to end (reservation → order
→ payment) on the database and Redis engines, with every refusal changing nothing.

The reserve route opens its own transactions (no request session), so these tests
run on committed data against an app built like production's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.campaigns.flash_sale.runtime import runtime_for
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.customers import sessions
from siyu.models.order import Order, OrderStatus
from tests.campaigns.flash_sale.factories import (
    ADDRESS,
    Sale,
    count_reservations,
    make_sale,
    stock_left,
    tally,
)
from tests.customers.factories import make_cipher, make_customer
from tests.orders.factories import pay

URL = "/api/shop/v1/campaigns/flash-sale"


def _client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, start_worker=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
        runtime = getattr(app.state, "flash_sale", None)
        if runtime is not None:
            runtime.stop()


@pytest.fixture
def shop(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    yield from _client(settings)


@pytest.fixture
def redis_shop(
    settings: Settings, session_factory: sessionmaker[Session], redis_url: str
) -> Iterator[TestClient]:
    yield from _client(settings.model_copy(update={"redis_url": redis_url}))


def _buyer(factory: sessionmaker[Session]) -> tuple[int, dict[str, str]]:
    with transaction(factory) as session:
        customer = make_customer(session, make_cipher())
        raw, _ = sessions.create_session(session, customer_id=customer.id, touchpoint="mp")
        return customer.id, {sessions.TOKEN_HEADER: raw}


def _sale(factory: sessionmaker[Session], **options: Any) -> Sale:
    with transaction(factory) as session:
        return make_sale(session, **options)


def _reserve(client: TestClient, sale: Sale, headers: dict[str, str], **changes: Any) -> Any:
    body = {"item_id": sale.item.public_id, "address": dict(ADDRESS)} | changes
    return client.post(f"{URL}/reservations", json=body, headers=headers)


def _wait_for_order(client: TestClient, headers: dict[str, str], public_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        # No in-process worker in these apps: write orders as the sweep job would.
        runtime_for(client.app).process_pending()
        response = client.get(f"{URL}/reservations/{public_id}", headers=headers)
        if response.status_code == 200 and response.json()["status"] != "reserved":
            return dict(response.json())
        time.sleep(0.1)
    raise AssertionError("no order was written for the reservation")


def _unchanged(factory: sessionmaker[Session], sale: Sale, stock: int) -> None:
    with transaction(factory) as session:
        assert stock_left(session, sale.item.id) == stock


@pytest.mark.parametrize("stock_engine", ["database", "redis"])
def test_reserve_order_and_pay(
    stock_engine: str,
    request: pytest.FixtureRequest,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    client: TestClient = request.getfixturevalue(
        "shop" if stock_engine == "database" else "redis_shop"
    )
    sale = _sale(session_factory, stock=2, limit=1, engine=stock_engine)
    customer_id, headers = _buyer(session_factory)
    page = client.get(f"{URL}/{sale.campaign.public_id}").json()
    assert page["sessions"][0]["phase"] == "live"
    assert page["sessions"][0]["items"][0]["campaign_price"] == 990
    reserved = _reserve(client, sale, headers)
    assert reserved.status_code == 202, reserved.text
    assert reserved.json()["status"] == "reserved"
    again = _reserve(client, sale, headers)
    assert (again.status_code, again.json()["code"]) == (409, "flash_sale.limit_reached")
    done = _wait_for_order(client, headers, reserved.json()["public_id"])
    assert done["status"] == "ordered"
    with transaction(session_factory) as session:
        order = session.scalars(
            select(Order).where(Order.public_id == done["order_public_id"])
        ).one()
        assert (order.customer_id, order.campaign_id, order.status) == (
            customer_id,
            sale.campaign.id,
            OrderStatus.PENDING_PAYMENT,
        )
        assert order.items_amount - order.discount_amount == 990
        pay(session, settings, order)
        assert tally(session, sale.item.id, customer_id) == 1
    mine = client.get(f"{URL}/reservations", headers=headers).json()["items"]
    assert [item["public_id"] for item in mine] == [reserved.json()["public_id"]]


def test_sold_out_over_limit_and_bad_requests_change_nothing(
    shop: TestClient, session_factory: sessionmaker[Session]
) -> None:
    sale = _sale(session_factory, stock=1, limit=1)
    _first, first = _buyer(session_factory)
    _second, second = _buyer(session_factory)
    anonymous = _reserve(shop, sale, {})
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "customer.session_invalid")
    no_address = _reserve(shop, sale, first, address=None)
    assert (no_address.status_code, no_address.json()["code"]) == (
        422,
        "flash_sale.invalid_reservation",
    )
    too_many = _reserve(shop, sale, first, quantity=2)
    assert too_many.status_code == 422
    unknown = shop.post(
        f"{URL}/reservations", json={"item_id": "fsi_nope", "address": ADDRESS}, headers=first
    )
    assert (unknown.status_code, unknown.json()["code"]) == (404, "flash_sale.item_not_found")
    _unchanged(session_factory, sale, 1)
    assert _reserve(shop, sale, first).status_code == 202
    sold_out = _reserve(shop, sale, second)
    assert (sold_out.status_code, sold_out.json()["code"]) == (409, "flash_sale.sold_out")
    with transaction(session_factory) as session:
        assert count_reservations(session) == 1
        assert tally(session, sale.item.id, _second) == 0


@pytest.mark.parametrize(
    ("starts_in", "code"),
    [(timedelta(minutes=10), "campaign.not_started"), (timedelta(hours=-2), "campaign.ended")],
)
def test_before_the_start_and_after_the_end(
    shop: TestClient, session_factory: sessionmaker[Session], starts_in: timedelta, code: str
) -> None:
    sale = _sale(session_factory, stock=3, starts_in=starts_in)
    _customer, headers = _buyer(session_factory)
    response = _reserve(shop, sale, headers)
    assert (response.status_code, response.json()["code"]) == (409, code)
    _unchanged(session_factory, sale, 3)


@pytest.mark.parametrize("stock_engine", ["database", "redis"])
def test_rate_limited_with_retry_after(
    stock_engine: str, request: pytest.FixtureRequest, session_factory: sessionmaker[Session]
) -> None:
    client: TestClient = request.getfixturevalue(
        "shop" if stock_engine == "database" else "redis_shop"
    )
    sale = _sale(session_factory, stock=10, limit=10, engine=stock_engine, customer_rate_limit=2)
    _customer, headers = _buyer(session_factory)
    assert [_reserve(client, sale, headers).status_code for _ in range(2)] == [202, 202]
    limited = _reserve(client, sale, headers)
    assert (limited.status_code, limited.json()["code"]) == (429, "flash_sale.rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 10
    runtime = runtime_for(client.app)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        # The background placer may hold the drain at this moment: ask until written.
        runtime.process_pending()
        with transaction(session_factory) as session:
            if count_reservations(session) == 2:
                break
        time.sleep(0.05)
    with transaction(session_factory) as session:
        assert count_reservations(session) == 2
        assert stock_left(session, sale.item.id) == 8


def test_one_request_in_flight_per_customer(
    redis_shop: TestClient, session_factory: sessionmaker[Session], redis_url: str
) -> None:
    import redis

    sale = _sale(session_factory, stock=5, limit=5, engine="redis")
    customer_id, headers = _buyer(session_factory)
    client = redis.Redis.from_url(redis_url)
    client.set(f"siyu:fs:in-flight:{customer_id}", "1", px=5000)
    busy = _reserve(redis_shop, sale, headers)
    assert (busy.status_code, busy.json()["code"]) == (429, "flash_sale.request_in_flight")
    assert busy.headers["Retry-After"] == "1"
    client.delete(f"siyu:fs:in-flight:{customer_id}")
    assert _reserve(redis_shop, sale, headers).status_code == 202
    client.close()


def test_published_through_the_registry_the_first_sale_fixes_the_engine(
    shop: TestClient, session_factory: sessionmaker[Session]
) -> None:
    from siyu.campaigns.flash_sale import tasks
    from siyu.campaigns.registry import service as registry
    from siyu.models.flash_sale import FlashSaleSession
    from siyu.models.job import Job
    from siyu.staff.principal import command_line_principal

    sale = _sale(session_factory, stock=3, publish=False)
    with transaction(session_factory) as session:
        campaign = registry.get(session, sale.campaign.id)
        registry.publish(session, command_line_principal("test"), campaign)
    _customer, headers = _buyer(session_factory)
    assert _reserve(shop, sale, headers).status_code == 202
    with transaction(session_factory) as session:
        row = session.get(FlashSaleSession, sale.session.id)
        assert row is not None
        assert row.stock_engine == "database"
        sweeps = session.scalars(select(Job).where(Job.task == tasks.SWEEP_TASK)).all()
        assert [job.run_at for job in sweeps] == [row.starts_at]
        assert stock_left(session, sale.item.id) == 2
