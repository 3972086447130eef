"""The warehouse API and console page: authorization, status, sync now, /readyz."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from siyu.core.settings import Settings
from siyu.models.staff import Role
from siyu.warehouse import state
from siyu.warehouse.engine import Warehouse
from tests.catalog.factories import bearer
from tests.coupons.factories import shop_headers
from tests.customers.factories import make_cipher, make_customer

ROUTES = [("GET", "/api/v1/warehouse/status"), ("POST", "/api/v1/warehouse/sync")]


def test_authorization_matrix(api: TestClient, session: Session, test_settings: Settings) -> None:
    root = Warehouse.from_settings(test_settings).root
    shop = shop_headers(session, make_customer(session, make_cipher()).id)
    guide = bearer(session, Role.GUIDE)
    analyst = bearer(session, Role.ANALYST)
    for method, url in ROUTES:
        assert api.request(method, url).status_code == 401, url
        assert api.request(method, url, headers=shop).status_code == 401, url
        assert api.request(method, url, headers=guide).status_code == 403, url
    # analytics.read may look, only system.manage may sync.
    assert api.post("/api/v1/warehouse/sync", headers=analyst).status_code == 403
    assert not state.manifest_path(root).exists()
    status = api.get("/api/v1/warehouse/status", headers=analyst)
    assert status.status_code == 200
    assert status.json()["last_sync_at"] is None
    assert [t["name"] for t in status.json()["tables"]][-1] == "events"
    assert not state.manifest_path(root).exists()

    admin = bearer(session, Role.ADMIN)
    synced = api.post("/api/v1/warehouse/sync", headers=admin)
    assert synced.status_code == 200, synced.text
    assert synced.json()["skipped"] is False
    assert set(synced.json()["rows"]) == {t["name"] for t in status.json()["tables"]}
    assert state.load(root).seq == 1
    after = api.get("/api/v1/warehouse/status", headers=analyst).json()
    assert after["last_sync_at"] is not None


def test_sync_while_another_runs_is_a_conflict(
    api: TestClient, session: Session, test_settings: Settings
) -> None:
    root = Warehouse.from_settings(test_settings).root
    admin = bearer(session, Role.ADMIN)
    with state.sync_lock(root, wait=False) as acquired:
        assert acquired
        busy = api.post("/api/v1/warehouse/sync", headers=admin)
    assert (busy.status_code, busy.json()["code"]) == (409, "warehouse.sync_busy")
    assert not state.manifest_path(root).exists()


def test_readyz_reports_freshness_and_never_fails_on_the_warehouse(
    api: TestClient, test_settings: Settings
) -> None:
    ready = api.get("/readyz")
    assert ready.status_code == 200
    warehouse = ready.json()["checks"]["warehouse"]
    assert warehouse["ok"] is True
    assert warehouse["last_sync_at"] is None
    assert warehouse["events_age_seconds"] is None
    root = Warehouse.from_settings(test_settings).root
    state.manifest_path(root).parent.mkdir(parents=True)
    state.manifest_path(root).write_text("{not json")
    broken = api.get("/readyz")
    assert broken.status_code == 200
    assert broken.json()["status"] == "ready"
    assert broken.json()["checks"]["warehouse"] == {"ok": False, "error": "JSONDecodeError"}


def test_console_page_needs_analytics_read_and_sync_needs_system_manage(
    api: TestClient, session: Session, test_settings: Settings
) -> None:
    root = Warehouse.from_settings(test_settings).root
    guide = bearer(session, Role.GUIDE)
    analyst = bearer(session, Role.ANALYST)
    admin = bearer(session, Role.ADMIN)
    assert api.get("/console/warehouse", headers=guide).status_code == 403
    page = api.get("/console/warehouse", headers=analyst)
    assert page.status_code == 200
    assert 'id="warehouse-tables"' in page.text
    assert 'id="warehouse-sync"' not in page.text
    assert api.post("/console/warehouse/sync", headers=analyst).status_code == 403
    assert not state.manifest_path(root).exists()
    assert 'id="warehouse-sync"' in api.get("/console/warehouse", headers=admin).text
    done = api.post("/console/warehouse/sync", headers=admin, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].startswith("/console/warehouse?synced=")
    assert state.load(root).seq == 1
