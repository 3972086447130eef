"""Console shell: sign-in, CSRF, language, catalogs, vendor files, dashboard, system."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models.job import JobStatus
from siyu.models.outbox import OutboxStatus
from siyu.models.staff import ConsoleSession, LoginThrottle, Role
from siyu.web import i18n
from siyu.web.console.auth_pages import safe_next
from siyu.web.console.navigation import GROUPS, SECTIONS
from siyu.web.console.rendering import TEMPLATES_DIR
from siyu.web.console.vendor import VENDOR_FILES
from tests.factories import DEFAULT_PASSWORD, make_staff
from tests.web.console_helpers import login_form_data, sign_in


def session_rows(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ConsoleSession)) or 0


# --- sign-in ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/console", "/console/staff?tab=1", "/console/customers"])
def test_anonymous_pages_redirect_to_login(api: TestClient, path: str) -> None:
    response = api.get(path, follow_redirects=False)
    assert response.status_code == 303
    expected = "/console/login" if path == "/console" else "/console/login?next="
    assert response.headers["location"].startswith(expected)
    if path != "/console":
        assert safe_next(path) == path


def test_anonymous_htmx_request_gets_a_client_side_redirect(api: TestClient) -> None:
    response = api.post("/console/staff/1/disable", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/console/login"


def test_login_sets_an_http_only_session_cookie_and_follows_next(
    api: TestClient, session: Session
) -> None:
    admin = make_staff(session, username="boss", roles=[Role.ADMIN])
    data = login_form_data(api, "Boss", DEFAULT_PASSWORD, next_path="/console/audit?page=1")
    response = api.post("/console/login", data=data, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/console/audit?page=1"
    cookie = next(
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith("siyu_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Max-Age=43200" in cookie
    assert "Secure" not in cookie
    assert session_rows(session) == 1
    assert admin.last_login_at is not None
    assert api.get("/console").status_code == 200


@pytest.mark.parametrize(
    "candidate",
    [
        "https://evil.example/console",
        "//evil.example/console",
        "/\\evil.example",
        "/api/v1/staff",
        "/console/login",
        "javascript:alert(1)",
        "",
    ],
)
def test_unsafe_next_falls_back_to_the_dashboard(candidate: str) -> None:
    assert safe_next(candidate) == "/console"


def test_failed_login_says_the_same_for_unknown_user_and_wrong_password(
    api: TestClient, session: Session
) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    for username, password in [("boss", "wrong-password"), ("nobody", DEFAULT_PASSWORD)]:
        response = api.post("/console/login", data=login_form_data(api, username, password))
        assert response.status_code == 401
        assert "用户名或密码错误" in response.text
        assert f'value="{username}"' in response.text
        assert "siyu_session" not in response.cookies
    # Failures are returned, not raised, so the counters committed with the request.
    assert session.get(LoginThrottle, "boss").failures == 1  # type: ignore[union-attr]
    assert session.get(LoginThrottle, "nobody").failures == 1  # type: ignore[union-attr]
    assert session_rows(session) == 0


def test_locked_login_says_for_how_many_minutes(api: TestClient, session: Session) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    for _attempt in range(5):
        api.post("/console/login", data=login_form_data(api, "boss", "wrong-password"))
    # Even the right password is refused while locked.
    response = api.post("/console/login", data=login_form_data(api, "boss", DEFAULT_PASSWORD))
    assert response.status_code == 429
    assert "登录失败次数过多，请 15 分钟后再试" in response.text
    assert int(response.headers["Retry-After"]) > 14 * 60
    assert session_rows(session) == 0


def test_login_without_the_form_token_is_refused(api: TestClient, session: Session) -> None:
    staff = make_staff(session, username="boss", roles=[Role.ADMIN])
    data = login_form_data(api, "boss", DEFAULT_PASSWORD)
    for forged in ["", "not-the-token"]:
        response = api.post("/console/login", data={**data, "csrf_token": forged})
        assert response.status_code == 403
        assert "表单已过期" in response.text
    # The token is bound to the signed cookie: another browser's token does not fit.
    api.cookies.clear()
    response = api.post("/console/login", data=data)
    assert response.status_code == 403
    assert session_rows(session) == 0
    assert staff.last_login_at is None


def test_login_attempts_are_rate_limited_per_ip(api: TestClient, session: Session) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    app_state = api.app.state  # type: ignore[attr-defined]
    app_state.settings = app_state.settings.model_copy(update={"login_rate_per_minute": 2})
    for _attempt in range(2):
        api.post("/console/login", data=login_form_data(api, "someone", "wrong"))
    response = api.post("/console/login", data=login_form_data(api, "boss", DEFAULT_PASSWORD))
    assert response.status_code == 429
    assert "尝试次数过多" in response.text
    assert int(response.headers["Retry-After"]) >= 1
    assert session_rows(session) == 0


def test_logout_needs_the_session_token_and_ends_the_session(
    api: TestClient, session: Session
) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    token = sign_in(api, "boss", DEFAULT_PASSWORD)

    refused = api.post("/console/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert session_rows(session) == 1

    response = api.post("/console/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/login"
    assert session_rows(session) == 0
    assert api.get("/console", follow_redirects=False).status_code == 303


def test_signed_in_visit_to_the_login_page_goes_to_the_console(
    api: TestClient, session: Session
) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    sign_in(api, "boss", DEFAULT_PASSWORD)
    response = api.get("/console/login?next=/console/staff", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/staff"


# --- language --------------------------------------------------------------------


def test_language_switch_renders_english_and_sticks(api: TestClient, session: Session) -> None:
    make_staff(session, username="boss", roles=[Role.ADMIN])
    sign_in(api, "boss", DEFAULT_PASSWORD)
    chinese = api.get("/console")
    assert '<html lang="zh-CN">' in chinese.text
    assert "工作台" in chinese.text

    english = api.get("/console?lang=en")
    assert '<html lang="en">' in english.text
    assert "Jobs finished per hour, last 24 hours" in english.text
    assert "Sign out" in english.text
    assert "siyu_lang=en" in english.headers["set-cookie"]
    # The cookie keeps it English without the parameter.
    assert "Dashboard" in api.get("/console/customers").text


def test_staff_language_is_the_default(api: TestClient, session: Session) -> None:
    staff = make_staff(session, username="lee", roles=[Role.OPERATOR])
    staff.language = "en"
    session.flush()
    sign_in(api, "lee", DEFAULT_PASSWORD)
    assert '<html lang="en">' in api.get("/console").text


def test_catalogs_have_identical_keys_and_cover_every_key_in_use() -> None:
    chinese, english = i18n.catalog("zh-CN"), i18n.catalog("en")
    assert set(chinese) == set(english)
    assert all(value.strip() for value in [*chinese.values(), *english.values()])

    used: set[str] = set()
    prefixes: set[str] = set()
    literal = re.compile(r"""\bt\(\s*["']([a-z][\w.\-]*\w)["']\s*[,)]""")
    prefix = re.compile(r"""\bt\(\s*["']([a-z][\w.\-]*\.)["']\s*~""")
    sources = [*TEMPLATES_DIR.rglob("*.html"), *TEMPLATES_DIR.parent.rglob("*.py")]
    for source in sources:
        text = source.read_text(encoding="utf-8")
        used |= set(literal.findall(text))
        prefixes |= set(prefix.findall(text))
    # Every key built from data belongs to a family enumerated below.
    families = {"role.", "job.status.", "outbox.status.", "nav.group.", "language.", "section."}
    # Domain catalogs (locales/<lang>/<domain>.json) check their own data-built keys.
    domain_namespaces = {
        key.split(".")[0] + "."
        for path in (i18n.LOCALES_DIR / "zh-CN").glob("*.json")
        for key in json.loads(path.read_text(encoding="utf-8"))
    }
    assert {p for p in prefixes if p.split(".")[0] + "." not in domain_namespaces} <= families
    # Keys the templates build from data.
    used |= {f"role.{role.value}" for role in Role}
    used |= {f"job.status.{status.value}" for status in JobStatus}
    used |= {f"outbox.status.{status.value}" for status in OutboxStatus}
    used |= {f"nav.group.{group}" for group in GROUPS}
    used |= {section.title_key for section in SECTIONS}
    used |= {f"section.{s.slug}.summary" for s in SECTIONS if not s.built}
    used |= {f"language.{language}" for language in i18n.LANGUAGES}
    used |= {f"error.title.{status}" for status in (400, 401, 403, 404, 405, 409, 422, 429, 500)}
    assert len(used) > 100
    assert sorted(used - set(chinese)) == []


def test_translator_fills_fields_and_survives_a_missing_one() -> None:
    english = i18n.Translator("en")
    assert english("staff.count", count=3) == "3 in total"
    assert english("staff.count") == "{count} in total"
    assert i18n.Translator("fr").language == "zh-CN"


# --- vendor files and static -----------------------------------------------------


def test_vendor_routes_serve_the_npm_files(api: TestClient) -> None:
    vendor_dir: Path = api.app.state.settings.vendor_dir  # type: ignore[attr-defined]
    if not (vendor_dir / VENDOR_FILES["htmx.min.js"]).is_file():
        pytest.skip("node_modules is missing: run `npm install` in the checkout")
    for name, relative in VENDOR_FILES.items():
        response = api.get(f"/static/vendor/{name}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
        assert response.content == (vendor_dir / relative).read_bytes()
    assert api.get("/static/vendor/package.json").status_code == 404
    assert api.get("/static/vendor/..%2F..%2Fpyproject.toml").status_code == 404
    assert api.get("/static/console.css").status_code == 200


def test_vendor_routes_404_without_node_modules(api: TestClient, tmp_path: Path) -> None:
    app_state = api.app.state  # type: ignore[attr-defined]
    app_state.settings = app_state.settings.model_copy(update={"vendor_dir": tmp_path})
    assert api.get("/static/vendor/echarts.min.js").status_code == 404
