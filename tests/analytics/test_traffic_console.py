"""The behaviour dashboards in the console (traffic map, funnels, cohorts): who may
open them, the charts' options and tables on the page, the funnel editor (default,
custom steps, refused steps), the cohort toggles and the table downloads."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.settings import Settings
from siyu.models.staff import Role
from siyu.warehouse.engine import Warehouse
from tests.analytics import behaviour_reference as reference
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import sign_in

DATES = "start=2026-09-01&end=2026-11-20"


def _option(html: str, chart_id: str) -> dict[str, object]:
    match = re.search(
        rf'<script type="application/json" id="{chart_id}-data">(.*?)</script>', html, re.S
    )
    assert match, chart_id
    return json.loads(match.group(1))


def _sign_in(api: TestClient, session: Session, role: Role, store_id: int | None = None) -> None:
    staff = make_staff(session, roles=[role], store_id=store_id)
    sign_in(api, staff.username, DEFAULT_PASSWORD)


def test_pages_need_analytics_read(api: TestClient, session: Session) -> None:
    for path in ("traffic", "funnels", "cohorts"):
        anonymous = api.get(f"/console/analytics/{path}", follow_redirects=False)
        assert anonymous.status_code in (302, 303, 401), path
    _sign_in(api, session, Role.GUIDE)
    for path in ("traffic", "funnels", "cohorts"):
        assert api.get(f"/console/analytics/{path}").status_code == 403, path


@pytest.fixture
def world(
    committed_engine: Engine,
    session_factory: sessionmaker[Session],
    test_settings: Settings,
    frozen_clock: clock.FrozenClock,
) -> reference.World:
    """Committed and exported before the test's own (rolled-back) session starts."""
    return reference.build_exported(
        committed_engine,
        session_factory,
        Warehouse.from_settings(test_settings),
        seed=3,
        customers=60,
    )


def test_dashboards_render_their_numbers_and_export(
    world: reference.World, api: TestClient, session: Session
) -> None:
    _sign_in(api, session, Role.ANALYST)

    traffic = api.get(f"/console/analytics/traffic?{DATES}")
    assert traffic.status_code == 200
    sankey = _option(traffic.text, "traffic-sankey")
    series = sankey["series"][0]  # type: ignore[index]
    assert series["type"] == "sankey"
    flows = reference.traffic(world, reference.date(2026, 9, 1), reference.date(2026, 11, 20))
    from_sources = sum(
        link["value"]
        for link in series["links"]
        if link["target"] in ("企业微信 1 对 1", "社群", "公众号", "小程序", "未进入私域")
    )
    assert from_sources == sum(value[0] for value in flows.values())
    assert 'data-tab="traffic"' in traffic.text
    assert 'id="table-traffic_sources"' in traffic.text
    csv = api.get(f"/console/analytics/traffic?{DATES}&format=csv&table=traffic_touchpoints")
    assert csv.status_code == 200
    assert csv.content.decode("utf-8-sig").splitlines()[0].startswith("私域触点,")

    funnels = api.get(f"/console/analytics/funnels?{DATES}")
    assert funnels.status_code == 200
    default = _option(funnels.text, "funnel-chart")
    assert default["yAxis"]["data"] == ["浏览商品", "加入购物车", "开始结算", "支付订单"]  # type: ignore[index]
    assert 'id="lifecycle-chart"' in funnels.text
    assert 'id="table-funnel_slices"' in funnels.text
    custom = api.get(
        f"/console/analytics/funnels?{DATES}&step=product_view&where=category%3D口红"
        "&step=order_paid&where=&window=3&unit=hour&slice=channel_code"
    )
    assert custom.status_code == 200
    labels = _option(custom.text, "funnel-chart")["yAxis"]["data"]  # type: ignore[index]
    assert labels == ["浏览商品 (category=口红)", "支付订单"]
    # The date form keeps the funnel being looked at.
    assert '<input type="hidden" name="step" value="product_view">' in custom.text
    refused = api.get(f"/console/analytics/funnels?{DATES}&step=product_view&where=oops")
    assert refused.status_code == 400
    assert 'id="funnel-error"' in refused.text
    assert 'id="lifecycle-chart"' in refused.text
    lifecycle = api.get(f"/console/analytics/funnels?{DATES}&format=xlsx&table=lifecycle_funnel")
    assert lifecycle.status_code == 200
    assert lifecycle.content[:2] == b"PK"

    for by, measure in (("month", "retention"), ("channel", "ltv")):
        cohorts = api.get(
            f"/console/analytics/cohorts?start=2026-08-01&end=2026-10-31&by={by}&measure={measure}"
        )
        assert cohorts.status_code == 200
        heatmap = _option(cohorts.text, "cohort-heatmap")
        assert heatmap["series"][0]["type"] == "heatmap"  # type: ignore[index]
        assert heatmap["series"][0]["data"], by  # type: ignore[index]
        assert _option(cohorts.text, "cohort-ltv")["series"]
        assert f'<option value="{by}" selected>' in cohorts.text
    bad = api.get("/console/analytics/cohorts?by=week")
    assert bad.status_code == 400


def test_a_store_manager_sees_the_scope_note(api: TestClient, session: Session) -> None:
    _sign_in(api, session, Role.STORE_MANAGER, store_id=7)
    page = api.get("/console/analytics/traffic")
    assert page.status_code == 200
    assert 'id="analytics-scope"' in page.text


def test_the_catalogs_hold_every_key_built_from_data() -> None:
    from siyu.analytics import cohorts, funnels, traffic
    from siyu.events.catalogue import EVENT_TYPES
    from siyu.web import i18n
    from siyu.web.console.analytics_behaviour_pages import WINDOW_UNITS

    prefix = "analytics_behaviour"
    built = {f"{prefix}.source.{name}" for name in traffic.SOURCE_GROUPS}
    built |= {f"{prefix}.touchpoint.{name}" for name in traffic.PRIVATE_TOUCHPOINTS}
    built |= {f"{prefix}.touchpoint.{traffic.NOT_REACHED}"}
    built |= {
        f"{prefix}.traffic.step.{name}"
        for name in ("acquired", "private_domain", traffic.FIRST_ORDER, traffic.REPEAT_ORDER)
    }
    built |= {f"{prefix}.event.{name}" for name in EVENT_TYPES}
    built |= {f"{prefix}.lifecycle.{stage}" for stage in funnels.LIFECYCLE_STAGES}
    built |= {f"{prefix}.funnels.slice.{name}" for name in ("none", *funnels.SLICES)}
    built |= {f"{prefix}.funnels.unit.{name}" for name in WINDOW_UNITS}
    built |= {f"{prefix}.cohorts.by.{name}" for name in cohorts.COHORT_KINDS}
    built |= {f"{prefix}.cohorts.measure.{name}" for name in cohorts.MEASURES}
    for language in i18n.LANGUAGES:
        assert sorted(built - set(i18n.catalog(language))) == [], language
