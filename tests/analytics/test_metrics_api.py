"""Metrics API: the authorization matrix of every endpoint, JSON equal to the service,
CSV and XLSX downloads that read back, a store manager's scope, and bad input as a
clear 400 with a stable code."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.core import clock
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.models.staff import Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.analytics import metrics_reference as ref
from tests.analytics.helpers import bearer_headers

PERIOD = "start=2026-10-25&end=2026-11-21"
ROUTES = (
    f"/api/v1/analytics/overview?{PERIOD}",
    f"/api/v1/analytics/metrics/series?{PERIOD}&grain=week&slice=touchpoint",
    f"/api/v1/analytics/metrics/slices?{PERIOD}&slice=store",
    f"/api/v1/analytics/drivers?{PERIOD}&drill=store",
)


def test_metrics_api(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    test_settings: Settings,
    frozen_clock: clock.FrozenClock,
) -> None:
    now = clock.now()
    with transaction(session_factory) as session:
        data = ref.build(session, random.Random(5), now=now, customers=60)
        analyst = bearer_headers(session, Role.ANALYST)
        guide = bearer_headers(session, Role.GUIDE)
        manager = bearer_headers(session, Role.STORE_MANAGER, store_id=data.stores[0])
    export.sync(committed_engine, Warehouse.from_settings(test_settings), now=now)
    want = ref.metrics(data, date(2026, 10, 25), date(2026, 11, 21))[(None, None)]
    store_want = ref.metrics(data, date(2026, 10, 25), date(2026, 11, 21), store_id=data.stores[0])[
        (None, None)
    ]
    with TestClient(create_app(test_settings, start_worker=False)) as api:
        for number, url in enumerate(ROUTES):
            assert api.get(url).status_code == 401, url
            assert api.get(url, headers=guide).status_code == 403, url
            response = api.get(url, headers=analyst)
            assert response.status_code == 200, (url, response.text)
            export_format = ("csv", "xlsx")[number % 2]
            download = api.get(f"{url}&format={export_format}", headers=analyst)
            assert download.status_code == 200, (url, download.text)
            assert download.headers["content-disposition"].endswith(f'.{export_format}"')

        overview = api.get(ROUTES[0], headers=analyst).json()
        assert overview["current"]["gmv"] == want["gmv"]
        assert overview["current"]["buyers"] == want["buyers"]
        assert overview["current"]["visitors"] == want["visitors"]
        assert overview["current"]["conversion_rate"] == want["conversion_rate"]
        assert (overview["previous_start"], overview["previous_end"]) == (
            "2026-09-27",
            "2026-10-24",
        )
        assert len(overview["series"]) == 28
        assert sum(row["metrics"]["gmv"] for row in overview["series"]) == want["gmv"]
        assert sum(row["metrics"]["gmv"] for row in overview["slices"]) == want["gmv"]

        drivers = api.get(ROUTES[3], headers=analyst).json()
        assert sum(factor["contribution"] for factor in drivers["factors"]) == drivers["change"]
        assert sum(row["change"] for row in drivers["drill"]) == drivers["change"]
        custom = api.get(
            f"{ROUTES[3]}&base_start=2026-10-11&base_end=2026-10-24&variant=new_returning",
            headers=analyst,
        ).json()
        assert (custom["base_start"], custom["variant"]) == ("2026-10-11", "new_returning")
        assert len(custom["factors"]) == 6

        # CSV: yuan with two decimals, the GMV of the current period in the summary.
        download = api.get(f"{ROUTES[0]}&format=csv&table=summary", headers=analyst)
        rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
        assert rows[0][0] == "期间"
        assert float(rows[1][1]) == round(want["gmv"] / 100, 2)
        # XLSX reads back with openpyxl.
        download = api.get(f"{ROUTES[2]}&format=xlsx&lang=en", headers=analyst)
        sheet = load_workbook(io.BytesIO(download.content)).active
        assert sheet is not None
        table = list(sheet.iter_rows(values_only=True))
        assert table[0][:2] == ("Slice", "GMV (paid − refunded) (¥)")
        assert round(sum(row[1] for row in table[1:]), 2) == round(want["gmv"] / 100, 2)

        # A store manager sees only their store.
        scoped = api.get(ROUTES[0], headers=manager).json()
        assert scoped["current"]["gmv"] == store_want["gmv"]
        assert scoped["current"]["gmv"] < want["gmv"]

        for url, code in (
            (f"{ROUTES[2]}&slice=colour", "analytics.invalid_slice"),
            (f"{ROUTES[0]}&model=linear", "analytics.invalid_slice"),
            (f"{ROUTES[3]}&variant=odd", "analytics.invalid_slice"),
            (f"{ROUTES[2]}&slice=store&model=first_touch", "analytics.invalid_slice"),
            (
                "/api/v1/analytics/overview?start=2026-11-21&end=2026-11-01",
                "analytics.invalid_period",
            ),
            (f"{ROUTES[3]}&base_start=2026-10-01", "analytics.invalid_period"),
            (f"{ROUTES[0]}&format=csv&table=nope", "analytics.invalid_request"),
        ):
            response = api.get(url, headers=analyst)
            assert (response.status_code, response.json()["code"]) == (400, code), url
        assert api.get(f"{ROUTES[0]}&grain=hour", headers=analyst).status_code == 422
