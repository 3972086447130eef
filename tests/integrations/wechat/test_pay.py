"""WechatPayProvider against the fake WeChat Pay server: prepay, refund, close, query,
error mapping and configuration (notifications: test_pay_notifications.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.core.errors import ConfigurationError
from siyu.core.settings import Settings
from siyu.integrations.wechat.errors import PayerOpenidRequired
from siyu.integrations.wechat.pay import WechatPayProvider, build_wechatpay_provider
from siyu.orders.payments.provider import (
    PrepayRequest,
    ProviderError,
    RefundRequest,
    RefundResult,
)
from tests.fakes.wechat_pay import FakeWechatPay
from tests.fakes.wechat_pay_protocol import key_pair, private_pem, rsa_verifies
from tests.integrations.wechat.conftest import prepay, settings_with
from tests.live import free_port


@pytest.fixture(autouse=True)
def frozen(frozen_clock: FrozenClock) -> FrozenClock:
    # 2026-11-22 02:00 UTC = 10:00 in Shanghai.
    return frozen_clock


def provider_error(call: pytest.ExceptionInfo[ProviderError]) -> dict[str, object]:
    assert (call.value.status, call.value.code) == (502, "payment.provider_error")
    return call.value.data


# -- prepay ----------------------------------------------------------------------------


def test_prepay_gives_request_payment_parameters_signed_by_the_merchant(
    provider: WechatPayProvider, fake_pay: FakeWechatPay, pay_settings: Settings
) -> None:
    parameters = prepay(provider)
    order = fake_pay.orders["P100"]
    assert parameters["appId"] == fake_pay.appid
    assert parameters["timeStamp"] == str(int(clock.now().timestamp()))
    assert parameters["package"] == f"prepay_id={order.prepay_id}"
    assert parameters["signType"] == "RSA"
    assert len(parameters["nonceStr"]) == 32
    message = "".join(
        f"{parameters[name]}\n" for name in ("appId", "timeStamp", "nonceStr", "package")
    )
    merchant_public_key = fake_pay.merchant_key.public_key()
    assert rsa_verifies(merchant_public_key, message, parameters["paySign"])
    assert not rsa_verifies(merchant_public_key, message + "x", parameters["paySign"])
    assert (order.total, order.payer_openid, order.description) == (
        19_900,
        "o-shopper-1",
        "玫瑰精华水 150ml",
    )
    assert order.time_expire == "2026-11-22T10:30:00+08:00"
    assert order.notify_url == pay_settings.wechatpay_notify_url
    assert [request.path for request in fake_pay.requests] == ["/v3/pay/transactions/jsapi"]


def test_prepay_again_returns_the_same_prepay_id(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    first = prepay(provider)
    second = prepay(provider)
    assert first["package"] == second["package"]
    assert list(fake_pay.orders) == ["P100"]


def test_prepay_needs_the_payer_openid(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    request = PrepayRequest("P100", 100, "x", clock.now() + timedelta(minutes=5), None)
    with pytest.raises(PayerOpenidRequired):
        provider.start_payment(request)
    assert fake_pay.requests == []


def test_a_request_signed_with_another_key_is_refused(
    fake_pay: FakeWechatPay, pay_settings: Settings, tmp_path: Path
) -> None:
    intruder_key = tmp_path / "intruder.pem"
    intruder_key.write_text(private_pem(key_pair("intruder")))
    provider = build_wechatpay_provider(
        pay_settings.model_copy(update={"wechatpay_private_key_path": intruder_key})
    )
    with pytest.raises(ProviderError) as refused:
        prepay(provider)
    assert provider_error(refused) == {
        "operation": "prepay",
        "http_status": 401,
        "wechat_code": "SIGN_ERROR",
        "wechat_message": "签名错误",
        "retryable": False,
    }
    assert fake_pay.orders == {}


def test_a_response_whose_signature_does_not_verify_is_refused(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    fake_pay.sign_responses = False
    with pytest.raises(ProviderError) as refused:
        prepay(provider)
    assert provider_error(refused) == {
        "operation": "prepay",
        "wechat_code": None,
        "retryable": False,
        "reason": "failed to verify the signature",
    }


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (500, "SYSTEM_ERROR", True),
        (429, "FREQUENCY_LIMITED", True),
        (400, "PARAM_ERROR", False),
        (403, "NO_AUTH", False),
    ],
)
def test_wechat_errors_become_provider_errors_with_the_wechat_code(
    provider: WechatPayProvider,
    fake_pay: FakeWechatPay,
    status: int,
    code: str,
    retryable: bool,
) -> None:
    fake_pay.fail_next(status=status, code=code, message="出错了")
    with pytest.raises(ProviderError) as refused:
        prepay(provider)
    assert refused.value.message == "WeChat Pay refused the prepay: 出错了"
    assert provider_error(refused) == {
        "operation": "prepay",
        "http_status": status,
        "wechat_code": code,
        "wechat_message": "出错了",
        "retryable": retryable,
    }
    assert fake_pay.orders == {}


def test_an_unreachable_wechat_is_a_retryable_provider_error(
    pay_settings: Settings,
) -> None:
    closed_port = f"http://127.0.0.1:{free_port()}"
    provider = build_wechatpay_provider(
        pay_settings.model_copy(update={"wechatpay_api_base": closed_port})
    )
    with pytest.raises(ProviderError) as refused:
        prepay(provider)
    assert provider_error(refused) == {
        "operation": "prepay",
        "wechat_code": None,
        "retryable": True,
        "reason": "ConnectionError",
    }


# -- refund, close, query --------------------------------------------------------------


def test_refund_round_trip(provider: WechatPayProvider, fake_pay: FakeWechatPay) -> None:
    prepay(provider)
    transaction_id = fake_pay.pay("P100").transaction_id
    request = RefundRequest("P100", "R1", 9_900, 19_900, "不想要了", transaction_id)
    result = provider.refund(request)
    refund = fake_pay.refunds["R1"]
    assert result == RefundResult(provider_refund_id=refund.refund_id, status="processing")
    assert (refund.refund, refund.total, refund.reason, refund.transaction_id) == (
        9_900,
        19_900,
        "不想要了",
        transaction_id,
    )
    # WeChat Pay deduplicates on out_refund_no: asking again changes nothing.
    assert provider.refund(request) == result
    assert fake_pay.orders["P100"].refunded == 9_900
    with pytest.raises(ProviderError) as too_much:
        provider.refund(RefundRequest("P100", "R2", 10_001, 19_900, ""))
    assert provider_error(too_much)["wechat_code"] == "INVALID_REQUEST"
    assert provider_error(too_much)["retryable"] is False
    assert list(fake_pay.refunds) == ["R1"]


def test_refund_of_an_unpaid_payment_is_refused(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    prepay(provider)
    with pytest.raises(ProviderError) as refused:
        provider.refund(RefundRequest("P100", "R1", 100, 19_900, ""))
    assert provider_error(refused)["wechat_message"] == "订单未支付"
    assert fake_pay.refunds == {}


def test_query_reports_only_what_is_settled(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    assert provider.query("P-UNKNOWN") is None
    prepay(provider)
    assert provider.query("P100") is None  # NOTPAY: nothing to report yet
    order = fake_pay.pay("P100")
    notice = provider.query("P100")
    assert notice is not None
    assert (
        notice.notification_id,
        notice.kind,
        notice.event_type,
        notice.succeeded,
        notice.amount,
        notice.transaction_id,
        notice.payer_openid,
    ) == (
        f"query:{order.transaction_id}:SUCCESS",
        "payment",
        "TRANSACTION.SUCCESS",
        True,
        19_900,
        order.transaction_id,
        "o-shopper-1",
    )


def test_close_then_query_reports_closed(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    prepay(provider)
    provider.close("P100")
    assert fake_pay.orders["P100"].trade_state == "CLOSED"
    provider.close("P100")  # closing twice is harmless
    provider.close("P-NEVER-PREPAID")  # WeChat never saw it: nothing to close
    notice = provider.query("P100")
    assert notice is not None
    assert (notice.event_type, notice.succeeded, notice.amount) == ("TRANSACTION.CLOSED", False, 0)


def test_close_of_a_paid_payment_is_refused(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    prepay(provider)
    fake_pay.pay("P100")
    with pytest.raises(ProviderError) as refused:
        provider.close("P100")
    assert provider_error(refused)["wechat_code"] == "ORDERPAID"
    assert fake_pay.orders["P100"].trade_state == "SUCCESS"


# -- configuration ---------------------------------------------------------------------


def test_missing_settings_are_all_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as missing:
        build_wechatpay_provider(settings_with(tmp_path))
    assert str(missing.value) == (
        "WeChat Pay is missing settings: SIYU_WECHATPAY_MCHID, SIYU_WECHATPAY_APPID, "
        "SIYU_WECHATPAY_APIV3_KEY, SIYU_WECHATPAY_CERT_SERIAL_NO, "
        "SIYU_WECHATPAY_PRIVATE_KEY_PATH, SIYU_WECHATPAY_PUBLIC_KEY_PATH, "
        "SIYU_WECHATPAY_PUBLIC_KEY_ID, SIYU_WECHATPAY_NOTIFY_URL"
    )


def test_the_mini_program_app_id_is_the_default_app_id(
    pay_settings: Settings, fake_pay: FakeWechatPay
) -> None:
    settings = pay_settings.model_copy(
        update={"wechatpay_appid": None, "wechat_mp_appid": fake_pay.appid}
    )
    parameters = prepay(build_wechatpay_provider(settings))
    assert parameters["appId"] == fake_pay.appid
    with pytest.raises(ConfigurationError, match="SIYU_WECHATPAY_APPID"):
        build_wechatpay_provider(pay_settings.model_copy(update={"wechatpay_appid": None}))


@pytest.fixture
def broken_files(tmp_path: Path) -> dict[str, Path]:
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    return {"missing": tmp_path / "absent.pem", "garbage": garbage}


@pytest.mark.parametrize(
    ("update", "message"),
    [
        ({"wechatpay_apiv3_key": "short"}, "SIYU_WECHATPAY_APIV3_KEY must be 32 bytes"),
        ({"wechatpay_private_key_path": "missing"}, "SIYU_WECHATPAY_PRIVATE_KEY_PATH: cannot"),
        ({"wechatpay_private_key_path": "garbage"}, "WeChat Pay keys could not be loaded"),
        ({"wechatpay_public_key_path": "garbage"}, "WeChat Pay keys could not be loaded"),
    ],
)
def test_bad_keys_are_configuration_errors(
    pay_settings: Settings,
    broken_files: dict[str, Path],
    update: dict[str, str],
    message: str,
) -> None:
    values = {name: broken_files.get(value, value) for name, value in update.items()}
    with pytest.raises(ConfigurationError, match=message):
        build_wechatpay_provider(pay_settings.model_copy(update=values))


def test_a_payment_landing_after_close_can_be_refunded(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    """The late-payment case the payments service handles: the shopper's payment
    raced the auto-cancel's close, WeChat took the money, siyu refunds it."""
    prepay(provider)
    provider.close("P100")
    fake_pay.pay("P100")
    notice = provider.query("P100")
    assert notice is not None
    assert (notice.succeeded, notice.amount) == (True, 19_900)
    result = provider.refund(RefundRequest("P100", "R-LATE", 19_900, 19_900, "订单已取消"))
    assert result.status == "processing"
    assert fake_pay.orders["P100"].refunded == 19_900
