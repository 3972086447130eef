"""Storefront sign-in (WeChat code2session, demo) and sign-out, on both engines."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import security
from siyu.core.clock import FrozenClock
from siyu.core.settings import Settings
from siyu.customers import sessions, shop_sessions_api
from siyu.customers.identify import IdentityInput
from siyu.models.customer import Customer, CustomerIdentity, CustomerSession
from siyu.models.staff import Role
from tests.clients import client_sharing
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff, make_token
from tests.fakes.wechat_api import FakeWechatApi

WECHAT = "/api/shop/v1/sessions/wechat"
DEMO = "/api/shop/v1/sessions/demo"
CURRENT = "/api/shop/v1/sessions/current"


@pytest.fixture(scope="module")
def wechat_server() -> Iterator[FakeWechatApi]:
    fake = FakeWechatApi()
    with fake.running():
        yield fake


@pytest.fixture
def wechat(wechat_server: FakeWechatApi) -> FakeWechatApi:
    wechat_server.reset()
    return wechat_server


@contextmanager
def shop_client(settings: Settings, session: Session) -> Iterator[TestClient]:
    """The shared `api` fixture's app, with these settings."""
    yield from client_sharing(settings, session)


@pytest.fixture
def client(
    test_settings: Settings, session: Session, wechat: FakeWechatApi, frozen_clock: FrozenClock
) -> Iterator[TestClient]:
    settings = test_settings.model_copy(
        update={**wechat.settings_overrides(), "shop_demo_login": True}
    )
    with shop_client(settings, session) as client:
        yield client


@pytest.fixture
def demo_off_client(
    test_settings: Settings, session: Session, wechat: FakeWechatApi
) -> Iterator[TestClient]:
    with shop_client(test_settings.model_copy(update=wechat.settings_overrides()), session) as c:
        yield c


def counts(session: Session) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        int(session.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Customer, CustomerIdentity, CustomerSession)
    )


def identities_of(session: Session, customer_id: int) -> set[tuple[str, str, str | None]]:
    rows = session.execute(
        select(CustomerIdentity.kind, CustomerIdentity.namespace, CustomerIdentity.value).where(
            CustomerIdentity.customer_id == customer_id
        )
    )
    return {(row.kind, row.namespace, row.value) for row in rows}


def problem(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["code"]


# -- WeChat sign-in --------------------------------------------------------------------


def test_wechat_sign_in_creates_the_customer_and_a_session(
    client: TestClient, session: Session, wechat: FakeWechatApi, frozen_clock: FrozenClock
) -> None:
    wechat.register("code-1", openid="o-mp-1", unionid="u-1")
    response = client.post(WECHAT, json={"code": "code-1"})
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"token", "customer_id", "expires_at"}
    assert data["token"].startswith("sc_")
    customer_id = data["customer_id"]
    assert identities_of(session, customer_id) == {
        ("mp_openid", wechat.appid, "o-mp-1"),
        ("unionid", "", "u-1"),
    }
    record = session.scalars(select(CustomerSession)).one()
    assert (record.customer_id, record.touchpoint, record.token_hash) == (
        customer_id,
        "mp",
        security.hash_token(data["token"]),
    )
    assert record.expires_at == frozen_clock.now() + timedelta(days=30)
    resolved = sessions.resolve_token(session, data["token"])
    assert resolved is not None
    assert resolved.customer_id == customer_id


def test_signing_in_again_finds_the_same_customer(
    client: TestClient, session: Session, wechat: FakeWechatApi
) -> None:
    wechat.register("code-1", openid="o-mp-1")
    wechat.register("code-2", openid="o-mp-1")
    first = client.post(WECHAT, json={"code": "code-1"}).json()
    second = client.post(WECHAT, json={"code": "code-2"}).json()
    assert first["customer_id"] == second["customer_id"]
    assert first["token"] != second["token"]
    assert counts(session) == (1, 1, 2)


def test_the_unionid_joins_a_customer_known_from_elsewhere(
    client: TestClient, session: Session, wechat: FakeWechatApi
) -> None:
    known = make_customer(
        session,
        make_cipher(),
        identities=[
            IdentityInput("unionid", "u-7"),
            IdentityInput("oa_openid", "o-oa-7", "wx-official-account"),
        ],
    )
    wechat.register("code-7", openid="o-mp-7", unionid="u-7")
    data = client.post(WECHAT, json={"code": "code-7"}).json()
    assert data["customer_id"] == known.id
    assert ("mp_openid", wechat.appid, "o-mp-7") in identities_of(session, known.id)
    assert counts(session) == (1, 3, 1)


def test_the_anonymous_id_stitches_earlier_browsing(
    client: TestClient, session: Session, wechat: FakeWechatApi
) -> None:
    visitor = make_customer(
        session, make_cipher(), identities=[IdentityInput("anonymous_id", "device-1")]
    )
    wechat.register("code-1", openid="o-mp-1")
    data = client.post(WECHAT, json={"code": "code-1", "anonymous_id": "device-1"}).json()
    assert data["customer_id"] == visitor.id
    assert identities_of(session, visitor.id) == {
        ("anonymous_id", "", "device-1"),
        ("mp_openid", wechat.appid, "o-mp-1"),
    }


@pytest.mark.parametrize(
    ("setup", "status", "code"),
    [
        (lambda fake: None, 401, "wechat.code_invalid"),
        (lambda fake: fake.fail("bad", errcode=40163), 401, "wechat.code_used"),
        (lambda fake: fake.fail("bad", errcode=45011), 429, "wechat.rate_limited"),
        (lambda fake: fake.fail("bad", errcode=40226), 403, "wechat.user_high_risk"),
        (lambda fake: fake.fail("bad", errcode=-1), 503, "wechat.busy"),
        (lambda fake: fake.fail("bad", errcode=99999), 502, "wechat.error"),
    ],
)
def test_wechat_refusals_write_nothing(
    client: TestClient,
    session: Session,
    wechat: FakeWechatApi,
    setup: Any,
    status: int,
    code: str,
) -> None:
    setup(wechat)
    response = client.post(WECHAT, json={"code": "bad", "anonymous_id": "device-1"})
    assert problem(response) == (status, code)
    assert counts(session) == (0, 0, 0)


def test_a_code_cannot_be_replayed(
    client: TestClient, session: Session, wechat: FakeWechatApi
) -> None:
    wechat.register("code-1", openid="o-mp-1")
    assert client.post(WECHAT, json={"code": "code-1"}).status_code == 200
    assert problem(client.post(WECHAT, json={"code": "code-1"})) == (401, "wechat.code_used")
    assert counts(session) == (1, 1, 1)


@pytest.mark.parametrize(
    "body",
    [{}, {"code": ""}, {"code": "x" * 129}, {"code": "c", "anonymous_id": ""}, {"code": 5}],
)
def test_bad_bodies_are_422_and_ask_nobody(
    client: TestClient, session: Session, wechat: FakeWechatApi, body: dict[str, Any]
) -> None:
    assert problem(client.post(WECHAT, json=body)) == (422, "request.invalid")
    assert wechat.calls == []
    assert counts(session) == (0, 0, 0)


def test_wechat_sign_in_without_mini_program_settings_is_503(
    test_settings: Settings, session: Session
) -> None:
    with shop_client(test_settings, session) as client:
        response = client.post(WECHAT, json={"code": "code-1"})
    assert problem(response) == (503, "wechat.not_configured")
    assert counts(session) == (0, 0, 0)


def test_sign_in_is_rate_limited_per_ip(
    client: TestClient,
    session: Session,
    wechat: FakeWechatApi,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(shop_sessions_api, "SIGN_IN_REQUESTS_PER_MINUTE", 2)
    wechat.register("code-1", openid="o-mp-1")
    assert client.post(WECHAT, json={"code": "code-1"}).status_code == 200
    assert client.post(DEMO, json={"shopper": "alice"}).status_code == 200
    before = counts(session)
    for path, body in ((WECHAT, {"code": "code-2"}), (DEMO, {"shopper": "bob"})):
        response = client.post(path, json=body)
        assert problem(response) == (429, "customer.sign_in_rate_limited")
        assert response.headers["Retry-After"] == "60"
    assert counts(session) == before
    assert [call["js_code"] for call in wechat.calls] == ["code-1"]


# -- demo sign-in ----------------------------------------------------------------------


def test_demo_sign_in_uses_an_external_demo_identity(client: TestClient, session: Session) -> None:
    first = client.post(DEMO, json={"shopper": "alice_01"})
    assert first.status_code == 200, first.text
    data = first.json()
    assert identities_of(session, data["customer_id"]) == {("external", "demo", "alice_01")}
    record = session.scalars(select(CustomerSession)).one()
    assert (record.customer_id, record.touchpoint) == (data["customer_id"], "h5")
    again = client.post(DEMO, json={"shopper": "alice_01"}).json()
    assert again["customer_id"] == data["customer_id"]
    other = client.post(DEMO, json={"shopper": "bob"}).json()
    assert other["customer_id"] != data["customer_id"]
    assert counts(session) == (2, 2, 3)


@pytest.mark.parametrize("shopper", ["", "Alice", "a b", "x" * 33, "李雷", "bob!", None, 7])
def test_demo_shopper_names_are_checked(client: TestClient, session: Session, shopper: Any) -> None:
    assert problem(client.post(DEMO, json={"shopper": shopper})) == (422, "request.invalid")
    assert counts(session) == (0, 0, 0)


@pytest.mark.parametrize("body", [{"shopper": "alice"}, {"shopper": "NOT VALID"}, {}])
def test_demo_sign_in_is_404_when_off(
    demo_off_client: TestClient, session: Session, body: dict[str, Any]
) -> None:
    response = demo_off_client.post(DEMO, json=body)
    assert problem(response) == (404, "customer.demo_login_disabled")
    assert counts(session) == (0, 0, 0)


# -- sign-out and callers --------------------------------------------------------------


def test_sign_out_deletes_only_the_current_session(client: TestClient, session: Session) -> None:
    kept = client.post(DEMO, json={"shopper": "alice"}).json()["token"]
    ended = client.post(DEMO, json={"shopper": "alice"}).json()["token"]
    response = client.delete(CURRENT, headers={"X-Siyu-Customer-Token": ended})
    assert (response.status_code, response.content) == (204, b"")
    remaining = session.scalars(select(CustomerSession.token_hash)).all()
    assert remaining == [security.hash_token(kept)]
    again = client.delete(CURRENT, headers={"Authorization": f"Bearer {ended}"})
    assert problem(again) == (401, "customer.session_invalid")
    assert sessions.resolve_token(session, kept) is not None


def test_sign_out_matrix(client: TestClient, session: Session) -> None:
    client.post(DEMO, json={"shopper": "alice"})
    staff_token = make_token(session, make_staff(session, roles=[Role.ADMIN]))
    for headers in (
        {},
        {"Authorization": f"Bearer {staff_token}"},
        {"X-Siyu-Customer-Token": "sc_unknown"},
    ):
        assert problem(client.delete(CURRENT, headers=headers)) == (
            401,
            "customer.session_invalid",
        )
    assert counts(session)[2] == 1


def test_sign_in_is_the_same_for_staff_callers(
    client: TestClient, session: Session, wechat: FakeWechatApi
) -> None:
    """The routes are public: a staff token neither helps nor changes who signs in."""
    staff_token = make_token(session, make_staff(session, roles=[Role.ADMIN]))
    headers = {"Authorization": f"Bearer {staff_token}"}
    wechat.register("code-1", openid="o-mp-1")
    by_wechat = client.post(WECHAT, json={"code": "code-1"}, headers=headers)
    by_demo = client.post(DEMO, json={"shopper": "alice"}, headers=headers)
    assert (by_wechat.status_code, by_demo.status_code) == (200, 200)
    assert identities_of(session, by_wechat.json()["customer_id"]) == {
        ("mp_openid", wechat.appid, "o-mp-1")
    }
    assert identities_of(session, by_demo.json()["customer_id"]) == {("external", "demo", "alice")}
