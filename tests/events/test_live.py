"""Against real commits: durability after 200, and the JS tracker in headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.core.settings import Settings
from siyu.customers import sessions
from siyu.models.customer import Customer, CustomerIdentity
from siyu.models.staff import Role
from siyu.models.tracking import TrackedEvent
from tests.events.factories import make_event
from tests.factories import make_staff, make_token
from tests.live import serve


def test_events_are_visible_to_another_connection_right_after_200(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    db_url: str,
    tmp_path: Path,
) -> None:
    with transaction(session_factory) as session:
        token = make_token(session, make_staff(session, roles=[Role.INTEGRATION]))
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path,
        secret_key="test-secret-key-" + "x" * 32,
        run_worker=False,
    )
    app = create_app(settings, start_worker=False)
    with TestClient(app) as client:
        response = client.post(
            "/api/v1/track",
            json={"events": [make_event(event_id="durable-1")]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.json() == {"accepted": 1, "duplicates": 0, "rejected": []}
        # A separate engine: nothing shared with the app's pool or session.
        other = create_engine(committed_engine.url)
        try:
            with other.connect() as connection:
                found = connection.execute(
                    text("SELECT event_id FROM tracked_event WHERE event_id = 'durable-1'")
                ).scalar_one_or_none()
        finally:
            other.dispose()
    assert found == "durable-1"


TEST_PAGE = """<!doctype html><html><head><title>tracker test</title>
<script src="/static/siyu-track.js"></script></head><body>
<script>siyu.init({endpoint: "", touchpoint: "h5", flushIntervalMs: %(interval)d,
  batchSize: %(batch)d %(token)s});</script></body></html>"""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A live server with the tracking routers and two test pages on one origin."""
    data_dir = tmp_path_factory.mktemp("tracker")
    database_url = f"sqlite:///{data_dir / 'siyu.db'}"
    upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        secret_key="tracker-" + "k" * 40,
        run_worker=False,
    )
    app: FastAPI = create_app(settings, start_worker=False)

    @app.get("/tracker-test/{mode}", response_class=HTMLResponse)
    def tracker_page(mode: str, token: str = "") -> str:
        # "fast" flushes on its own; "slow" only leaves through the beacon on page hide.
        return TEST_PAGE % {
            "interval": 200 if mode == "fast" else 600_000,
            "batch": 2 if mode == "fast" else 100,
            "token": f', sessionToken: "{token}"' if token else "",
        }

    with serve(app) as base_url:
        yield base_url, database_url


def _events(database_url: str) -> list[TrackedEvent]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.scalars(select(TrackedEvent).order_by(TrackedEvent.id)))
    finally:
        engine.dispose()


def _wait_for(database_url: str, count: int) -> list[TrackedEvent]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        events = _events(database_url)
        if len(events) >= count:
            return events
        time.sleep(0.1)
    return _events(database_url)


def test_tracker_batches_and_lands_anonymous_events(live: tuple[str, str], browser: Any) -> None:
    base, database_url = live
    before = len(_events(database_url))
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + "/tracker-test/fast?ch=")
    page.evaluate("siyu.track('product_view', {sku_id: 7}); siyu.track('add_to_cart', {q: 1})")
    events = _wait_for(database_url, before + 2)[before:]
    anonymous_id = page.evaluate("siyu.anonymousId()")
    assert page.evaluate("siyu.pending()") == 0
    context.close()
    assert [(e.type, e.properties, e.touchpoint) for e in events] == [
        ("product_view", {"sku_id": 7}, "h5"),
        ("add_to_cart", {"q": 1}, "h5"),
    ]
    assert events[0].context["page"] == base + "/tracker-test/fast?ch="
    engine = make_engine(database_url)
    with Session(engine) as session:
        owner = session.scalars(
            select(CustomerIdentity.customer_id).where(CustomerIdentity.value == anonymous_id)
        ).one()
    engine.dispose()
    assert {e.customer_id for e in events} == {owner}


def test_beacon_on_page_hide_delivers_the_queue_with_the_session(
    live: tuple[str, str], browser: Any
) -> None:
    base, database_url = live
    factory = make_session_factory(make_engine(database_url))
    with transaction(factory) as session:
        customer = Customer(consent={})
        session.add(customer)
        session.flush()
        token, _record = sessions.create_session(session, customer_id=customer.id, touchpoint="h5")
        customer_id = customer.id
    before = len(_events(database_url))
    context = browser.new_context()
    page = context.new_page()
    page.goto(base + f"/tracker-test/slow?token={token}")
    page.evaluate("siyu.track('page_view'); siyu.track('share', {target: 'moments'})")
    assert page.evaluate("siyu.pending()") == 2
    assert len(_events(database_url)) == before  # nothing sent yet: the timer is long
    # Leaving the page fires pagehide → sendBeacon with the queued events.
    page.goto("about:blank")
    events = _wait_for(database_url, before + 2)[before:]
    context.close()
    assert [(e.type, e.customer_id) for e in events] == [
        ("page_view", customer_id),
        ("share", customer_id),
    ]
