"""CLV API, console page, 360 section and command line: the authorization matrix,
the overview against the stored scores (whole brand and a store manager's scope),
exports, bad input, the "fit now" form and ``siyu analytics clv``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from siyu.analytics.clv import overview, service
from siyu.core import clock
from siyu.core.db import make_session_factory, transaction
from siyu.core.settings import Settings
from siyu.models.analytics import ClvFit, CustomerValue
from siyu.models.staff import AuditLog, Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.analytics import clv_data
from tests.analytics.clv_data import NOW
from tests.analytics.helpers import bearer_headers
from tests.clients import client_sharing
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "CDNOW_sample.txt"
STORE = clv_data.STORES[0]


@pytest.fixture
def fitted(
    committed_engine: Engine, test_settings: Settings
) -> Iterator[tuple[clv_data.Purchases, Session]]:
    """Purchases committed, exported to the app's warehouse and scored once; then a
    session (rolled back afterwards) the app's requests share."""
    previous = clock.install(clock.FrozenClock(NOW))
    factory = make_session_factory(committed_engine)
    with transaction(factory) as session:
        # Few days of orders: the export writes one file per day, the set-up's main cost.
        data = clv_data.build(session, customers=70, first_days=100)
    warehouse = Warehouse.from_settings(test_settings)
    export.sync(committed_engine, warehouse, now=NOW)
    with transaction(factory) as session:
        service.fit_and_score(
            session, warehouse, now=NOW, actor="setup", timezone=test_settings.timezone
        )
    connection = committed_engine.connect()
    outer = connection.begin()
    shared = Session(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield data, shared
    finally:
        shared.close()
        outer.rollback()
        connection.close()
        clock.install(previous)


@pytest.fixture
def client(
    fitted: tuple[clv_data.Purchases, Session], test_settings: Settings
) -> Iterator[TestClient]:
    yield from client_sharing(test_settings, fitted[1])


def _values(session: Session) -> dict[int, CustomerValue]:
    return {row.customer_id: row for row in session.scalars(select(CustomerValue))}


def test_authorization_matrix(
    client: TestClient, fitted: tuple[clv_data.Purchases, Session]
) -> None:
    # One set-up for the three callers: building, exporting and fitting is the cost.
    for who in ("anonymous", "without", "with"):
        _check_access(client, fitted[1], who)


def _check_access(client: TestClient, session: Session, who: str) -> None:
    endpoints: list[tuple[str, str, Any, Role, Role]] = [
        ("GET", "/api/v1/analytics/clv", None, Role.GUIDE, Role.ANALYST),
        ("GET", "/api/v1/analytics/clv?format=csv&table=fits", None, Role.GUIDE, Role.ANALYST),
        ("POST", "/api/v1/analytics/clv/fit", {"model": "bgnbd"}, Role.ANALYST, Role.OPERATOR),
    ]
    for method, path, body, without, allowed in endpoints:
        headers = (
            {}
            if who == "anonymous"
            else bearer_headers(session, allowed if who == "with" else without)
        )
        before = len(session.scalars(select(ClvFit)).all())
        response = client.request(method, path, json=body, headers=headers)
        if who == "with":
            assert response.status_code == 200, (path, response.text)
            continue
        assert response.status_code == (401 if who == "anonymous" else 403), (path, who)
        assert len(session.scalars(select(ClvFit)).all()) == before


def test_overview_counts_the_callers_customers(
    client: TestClient, fitted: tuple[clv_data.Purchases, Session]
) -> None:
    data, session = fitted
    values = _values(session)
    whole = client.get(
        "/api/v1/analytics/clv", headers=bearer_headers(session, Role.ANALYST)
    ).json()
    assert whole["count_fit"]["model"] == "bgnbd"
    assert whole["spend_fit"]["model"] == "gamma_gamma"
    assert whole["customers"] == len(values) == len({order[0] for order in data.orders})
    # Plain bucketing of the stored rows.
    edges = overview.VALUE_EDGES
    expected_value_bars = [0] * len(edges)
    expected_alive_bars = [0] * overview.ALIVE_BUCKETS
    for row in values.values():
        expected_value_bars[
            max(i for i, lower in enumerate(edges) if row.expected_value_365d >= lower)
        ] += 1
        expected_alive_bars[min(int(row.probability_alive * 10), 9)] += 1
    assert [bar["customers"] for bar in whole["value_histogram"]] == expected_value_bars
    assert [bar["customers"] for bar in whole["alive_histogram"]] == expected_alive_bars
    top = sorted(values.values(), key=lambda row: (-row.expected_value_365d, row.customer_id))
    assert [row["customer_id"] for row in whole["top_customers"]] == [
        row.customer_id for row in top[: overview.TOP_CUSTOMERS]
    ]

    store_ids = {c for c, store in data.customers.items() if store == STORE and c in values}
    manager = client.get(
        "/api/v1/analytics/clv", headers=bearer_headers(session, Role.STORE_MANAGER, STORE)
    ).json()
    assert manager["customers"] == len(store_ids) > 0
    assert {row["customer_id"] for row in manager["top_customers"]} <= store_ids
    assert sum(bar["customers"] for bar in manager["value_histogram"]) == len(store_ids)
    # The 360 section shows a customer's own scores.
    some = next(iter(store_ids))
    profile = client.get(
        f"/api/v1/customers/{some}", headers=bearer_headers(session, Role.ADMIN)
    ).json()
    assert profile["sections"]["clv"]["expected_value_365d"] == values[some].expected_value_365d


def test_exports_and_bad_input(
    client: TestClient, fitted: tuple[clv_data.Purchases, Session]
) -> None:
    session = fitted[1]
    headers = bearer_headers(session, Role.OPERATOR)
    download = client.get(
        "/api/v1/analytics/clv?format=csv&table=value_distribution", headers=headers
    )
    assert download.status_code == 200
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["Bucket", "Customers"]
    assert sum(int(row[1]) for row in rows[1:]) == len(_values(session))
    unknown = client.get("/api/v1/analytics/clv?format=csv&table=nope", headers=headers)
    assert unknown.status_code == 400
    before = len(session.scalars(select(ClvFit)).all())
    for body, status in (
        ({"model": "btyd"}, 422),
        ({"time_unit": "month"}, 422),
        ({"calibration_end": "2030-01-01"}, 400),
        ({"extra": 1}, 422),
    ):
        response = client.post("/api/v1/analytics/clv/fit", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
        assert response.json()["code"], response.text
    assert len(session.scalars(select(ClvFit)).all()) == before
    refit = client.post(
        "/api/v1/analytics/clv/fit",
        json={"model": "pareto_nbd", "calibration_end": "2026-10-01"},
        headers=headers,
    )
    assert refit.status_code == 200, refit.text
    body = refit.json()
    assert (body["model"], body["customers_scored"]) == ("pareto_nbd", len(_values(session)))
    assert body["quality"]["holdout_length"] == pytest.approx(51 / 7)
    logged = session.scalars(select(AuditLog).where(AuditLog.action == "analytics.clv.fit")).all()
    assert [(entry.target_id, entry.detail["model"]) for entry in logged] == [
        (str(body["count_fit_id"]), "pareto_nbd")
    ]


def test_console_page_and_fit_form(
    client: TestClient, fitted: tuple[clv_data.Purchases, Session]
) -> None:
    session = fitted[1]
    operator = make_staff(session, roles=[Role.OPERATOR])
    token = sign_in(client, operator.username, DEFAULT_PASSWORD)
    page = client.get("/console/analytics/clv")
    assert page.status_code == 200
    for marker in ('id="clv-value-chart"', 'id="clv-alive-chart"', 'id="clv-fit-form"', "BG/NBD"):
        assert marker in page.text
    export_csv = client.get("/console/analytics/clv?format=csv&table=top_customers")
    assert export_csv.status_code == 200
    posted = client.post(
        "/console/analytics/clv/fit",
        data={"csrf_token": token, "model": "pareto_nbd", "time_unit": "day"},
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    latest = session.scalars(select(ClvFit).order_by(ClvFit.id.desc())).first()
    assert latest is not None
    assert latest.fitted_by == operator.username
    bad = client.post(
        "/console/analytics/clv/fit",
        data={"csrf_token": token, "calibration_end": "not-a-date"},
    )
    assert bad.status_code == 422
    assert 'id="clv-error"' in bad.text

    analyst = make_staff(session, roles=[Role.ANALYST])
    client.cookies.clear()
    analyst_token = sign_in(client, analyst.username, DEFAULT_PASSWORD)
    assert 'id="clv-fit-form"' not in client.get("/console/analytics/clv").text
    refused = client.post(
        "/console/analytics/clv/fit", data={"csrf_token": analyst_token}, follow_redirects=False
    )
    assert refused.status_code == 403


def test_command_line_reproduces_the_published_bgnbd_fit() -> None:
    from siyu.cli import app

    result = CliRunner().invoke(
        app,
        ["analytics", "clv", "--file", str(SAMPLE), "--calibration-end", "1997-09-30", "--json"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert round(payload["log_likelihood"], 1) == -9582.4
    assert round(payload["params"]["r"], 3) == 0.243
    assert payload["quality"]["total_actual"] == 1882
    text = CliRunner().invoke(
        app, ["analytics", "clv", "--file", str(SAMPLE), "--model", "gamma_gamma"]
    )
    assert text.exit_code == 0
    assert "gamma" in text.output
    refused = CliRunner().invoke(app, ["analytics", "clv", "--calibration-end", "yesterday"])
    assert refused.exit_code != 0
