"""code2session against the fake api.weixin.qq.com: results and error mapping."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.integrations.wechat.miniprogram import Code2SessionResult, code2session
from tests.fakes.wechat_api import FakeWechatApi
from tests.integrations.wechat.conftest import settings_with
from tests.live import free_port


@pytest.fixture
def settings(fake_api: FakeWechatApi, tmp_path: Path) -> Settings:
    return settings_with(tmp_path, **fake_api.settings_overrides())


def refusal(settings: Settings, code: str, **options: float) -> SiyuError:
    with pytest.raises(SiyuError) as refused:
        code2session(settings, code, **options)
    return refused.value


def test_a_registered_code_gives_openid_and_unionid(
    settings: Settings, fake_api: FakeWechatApi, caplog: pytest.LogCaptureFixture
) -> None:
    fake_api.register("code-1", openid="o-mp-1", unionid="u-1")
    with caplog.at_level(logging.DEBUG):
        result = code2session(settings, "code-1")
    assert (result.openid, result.unionid) == ("o-mp-1", "u-1")
    assert result.session_key
    # The session key stays out of repr and out of every log line.
    assert repr(result) == "Code2SessionResult(openid='o-mp-1', unionid='u-1')"
    assert all(result.session_key not in record.getMessage() for record in caplog.records)
    assert fake_api.calls == [
        {
            "appid": fake_api.appid,
            "secret": fake_api.secret,
            "js_code": "code-1",
            "grant_type": "authorization_code",
        }
    ]


def test_unionid_is_none_when_wechat_gives_none(
    settings: Settings, fake_api: FakeWechatApi
) -> None:
    fake_api.register("code-2", openid="o-mp-2")
    result = code2session(settings, "code-2")
    assert isinstance(result, Code2SessionResult)
    assert (result.openid, result.unionid) == ("o-mp-2", None)


def test_a_code_works_once(settings: Settings, fake_api: FakeWechatApi) -> None:
    fake_api.register("code-3", openid="o-mp-3")
    code2session(settings, "code-3")
    error = refusal(settings, "code-3")
    assert (error.status, error.code, error.data) == (
        401,
        "wechat.code_used",
        {"errcode": 40163, "errmsg": "code been used"},
    )


@pytest.mark.parametrize(
    ("errcode", "status", "code"),
    [
        (40029, 401, "wechat.code_invalid"),
        (40163, 401, "wechat.code_used"),
        (45011, 429, "wechat.rate_limited"),
        (40226, 403, "wechat.user_high_risk"),
        (-1, 503, "wechat.busy"),
        (40125, 502, "wechat.error"),
        (61024, 502, "wechat.error"),
    ],
)
def test_wechat_errcodes_map_to_stable_codes(
    settings: Settings, fake_api: FakeWechatApi, errcode: int, status: int, code: str
) -> None:
    fake_api.fail("code-x", errcode=errcode, errmsg="message from WeChat")
    error = refusal(settings, "code-x")
    assert (error.status, error.code, error.data) == (
        status,
        code,
        {"errcode": errcode, "errmsg": "message from WeChat"},
    )


def test_an_unknown_code_is_invalid(settings: Settings) -> None:
    error = refusal(settings, "never-issued")
    assert (error.status, error.code) == (401, "wechat.code_invalid")


def test_a_wrong_secret_is_a_bad_gateway(settings: Settings, fake_api: FakeWechatApi) -> None:
    fake_api.register("code-4", openid="o-mp-4")
    error = refusal(settings.model_copy(update={"wechat_mp_secret": "wrong"}), "code-4")
    assert (error.status, error.code, error.data["errcode"]) == (502, "wechat.error", 40125)


def test_a_slow_wechat_is_unavailable(settings: Settings, fake_api: FakeWechatApi) -> None:
    fake_api.register("slow", openid="o-slow")
    fake_api.delay("slow", 1.0)
    error = refusal(settings, "slow", timeout=0.2)
    assert (error.status, error.code, error.data) == (
        503,
        "wechat.unavailable",
        {"reason": "ReadTimeout"},
    )


def test_an_unreachable_wechat_is_unavailable(settings: Settings) -> None:
    closed = settings.model_copy(update={"wechat_api_base": f"http://127.0.0.1:{free_port()}"})
    error = refusal(closed, "code")
    assert (error.status, error.code, error.data) == (
        503,
        "wechat.unavailable",
        {"reason": "ConnectError"},
    )


def test_an_answer_without_openid_is_a_bad_gateway(settings: Settings) -> None:
    elsewhere = settings.model_copy(
        update={"wechat_api_base": f"{settings.wechat_api_base}/not-wechat"}
    )
    error = refusal(elsewhere, "code")
    assert (error.status, error.code, error.data) == (
        502,
        "wechat.error",
        {"reason": "no openid in the answer"},
    )


def test_without_app_id_and_secret_sign_in_is_not_configured(tmp_path: Path) -> None:
    error = refusal(settings_with(tmp_path), "code")
    assert (error.status, error.code, error.data) == (
        503,
        "wechat.not_configured",
        {"missing": ["SIYU_WECHAT_MP_APPID", "SIYU_WECHAT_MP_SECRET"]},
    )
