"""Campaigns analytics API (attribution, campaign ROI, diagnosis): the authorization
matrix of every endpoint, JSON equal to the reference, CSV and XLSX downloads that
read back, a store manager's scope, the audited fixed-cost update, and bad input as a
clear 4xx with a stable code."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.analytics.period import Period
from siyu.app import create_app
from siyu.core import clock
from siyu.core.db import transaction
from siyu.core.settings import Settings
from siyu.models.campaign import Campaign
from siyu.models.staff import AuditLog, Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.analytics import campaigns_reference as ref
from tests.analytics.conftest import TIMEZONE
from tests.analytics.helpers import bearer_headers

QUERY = "start=2026-10-23&end=2026-11-21"
PERIOD = Period(date(2026, 10, 23), date(2026, 11, 21))


def test_campaigns_analytics_api(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    test_settings: Settings,
    frozen_clock: clock.FrozenClock,
) -> None:
    now = clock.now()
    with transaction(session_factory) as session:
        data = ref.build_roi(session, random.Random(11), now=now)
        analyst = bearer_headers(session, Role.ANALYST)
        guide = bearer_headers(session, Role.GUIDE)
        operator = bearer_headers(session, Role.OPERATOR)
        manager = bearer_headers(session, Role.STORE_MANAGER, store_id=1)
    export.sync(committed_engine, Warehouse.from_settings(test_settings), now=now)
    lottery = next(c for c in data.campaigns.values() if c["holdout_percent"])
    begin, finish = PERIOD.utc_bounds(TIMEZONE)
    total_gmv = sum(o["gmv"] for o in data.orders if begin <= o["paid_at"] < finish)
    store_gmv = sum(
        o["gmv"] for o in data.orders if begin <= o["paid_at"] < finish and o["store_id"] == 1
    )
    routes = (
        f"/api/v1/analytics/attribution?{QUERY}&model=position_based&dimension=touchpoint",
        f"/api/v1/analytics/campaigns?{QUERY}",
        f"/api/v1/analytics/campaigns/{lottery['id']}?{QUERY}",
        f"/api/v1/analytics/diagnosis?{QUERY}",
    )
    with TestClient(create_app(test_settings, start_worker=False)) as api:
        for url in routes:
            assert api.get(url).status_code == 401, url
            assert api.get(url, headers=guide).status_code == 403, url
            response = api.get(url, headers=analyst)
            assert response.status_code == 200, (url, response.text)
            for export_format in ("csv", "xlsx"):
                download = api.get(f"{url}&format={export_format}", headers=analyst)
                assert download.status_code == 200, (url, download.text)
                assert "attachment" in download.headers["content-disposition"]

        attribution = api.get(routes[0], headers=analyst).json()
        assert attribution["total_gmv"] == total_gmv
        assert sum(item["credited_gmv"] for item in attribution["items"]) == total_gmv
        for model in ("first_touch", "last_touch", "position_based"):
            assert sum(row[model] for row in attribution["comparison"]) == total_gmv
        expected = ref.attribution_reference(data, begin, finish, "position_based", "touchpoint")
        for item in attribution["items"]:
            assert abs(item["credited_gmv"] - expected[item["value"]]["gmv"]) < 1.0

        listing = api.get(routes[1], headers=analyst).json()
        costs = ref.roi_costs_reference(data, begin, finish)
        assert [item["campaign_id"] for item in listing["items"]] == sorted(
            (item["campaign_id"] for item in listing["items"]),
            key=lambda campaign_id: data.campaigns[campaign_id]["starts_at"],
        )
        for item in listing["items"]:
            assert item["costs"]["total"] == sum(costs[item["campaign_id"]].values())
        with_holdout = next(i for i in listing["items"] if i["campaign_id"] == lottery["id"])
        assert with_holdout["holdout"]["holdout_percent"] == 30
        assert (
            with_holdout["holdout"]["confidence_low"] < with_holdout["holdout"]["confidence_high"]
        )

        detail = api.get(routes[2], headers=analyst).json()
        assert detail["campaign"]["campaign_id"] == lottery["id"]
        assert len(detail["days"]) == 15

        grid = api.get(routes[3], headers=analyst).json()
        assert len(grid["cells"]) == 30
        assert grid["missing_count"] == sum(cell["missing"] for cell in grid["cells"])

        # CSV: yuan with two decimals and Chinese headers; XLSX reads back in English.
        download = api.get(f"{routes[1]}&format=csv", headers=analyst)
        rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
        assert rows[0][1] == "活动"
        assert len(rows) == 1 + len(listing["items"])
        download = api.get(
            f"{routes[0]}&format=xlsx&table=attribution_models&lang=en", headers=analyst
        )
        sheet = load_workbook(io.BytesIO(download.content)).active
        assert sheet is not None
        table = list(sheet.iter_rows(values_only=True))
        assert table[0][2] == "First touch (¥)"
        assert round(sum(row[2] for row in table[1:]), 2) == round(total_gmv / 100, 2)
        download = api.get(f"{routes[2]}&format=csv&table=campaign_costs", headers=analyst)
        assert download.status_code == 200

        # A store manager sees only their store.
        scoped = api.get(routes[0], headers=manager).json()
        assert scoped["total_gmv"] == store_gmv < total_gmv

        # Fixed cost: campaigns.manage only, audited, then part of the cost.
        url = f"/api/v1/analytics/campaigns/{lottery['id']}/fixed-cost"
        assert api.put(url, json={"fixed_cost_amount": 1}).status_code == 401
        assert api.put(url, json={"fixed_cost_amount": 1}, headers=analyst).status_code == 403
        bad = api.put(url, json={"fixed_cost_amount": -5}, headers=operator)
        assert bad.status_code == 422
        missing = api.put(
            "/api/v1/analytics/campaigns/999999/fixed-cost",
            json={"fixed_cost_amount": 5},
            headers=operator,
        )
        assert (missing.status_code, missing.json()["code"]) == (404, "campaign.not_found")
        with transaction(session_factory) as session:
            stored = session.get(Campaign, lottery["id"])
            assert stored is not None
            assert stored.fixed_cost_amount == 50000
        done = api.put(url, json={"fixed_cost_amount": 88000}, headers=operator)
        assert done.status_code == 200, done.text
        assert done.json() == {"campaign_id": lottery["id"], "fixed_cost_amount": 88000}
        with transaction(session_factory) as session:
            stored = session.get(Campaign, lottery["id"])
            assert stored is not None
            assert stored.fixed_cost_amount == 88000
            entry = session.scalars(
                select(AuditLog).where(AuditLog.action == "campaign.fixed_cost_set")
            ).one()
            assert entry.detail == {"fixed_cost_amount": 88000, "previous": 50000}
        after = api.get(routes[2], headers=analyst).json()
        assert after["campaign"]["costs"]["fixed"] == 88000

        for url, status, code in (
            (f"{routes[0]}&model=linear", 400, "analytics.invalid_slice"),
            (f"{routes[0]}&dimension=colour", 400, "analytics.invalid_slice"),
            (f"{routes[1]}&model=linear", 400, "analytics.invalid_slice"),
            (
                "/api/v1/analytics/campaigns?start=2026-11-21&end=2026-11-01",
                400,
                "analytics.invalid_period",
            ),
            (f"{routes[3]}&format=csv&table=nope", 400, "analytics.invalid_request"),
            (f"/api/v1/analytics/campaigns/999999?{QUERY}", 404, "analytics.not_found"),
        ):
            response = api.get(url, headers=analyst)
            assert (response.status_code, response.json()["code"]) == (status, code), url
