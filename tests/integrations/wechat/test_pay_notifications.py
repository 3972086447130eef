"""WeChat Pay notifications: signature, key id, timestamp window, decryption, mapping."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from siyu.core import clock
from siyu.core.clock import FrozenClock
from siyu.integrations.wechat.errors import NotificationUnsupported
from siyu.integrations.wechat.pay import WechatPayProvider
from siyu.orders.payments.provider import NotificationInvalid, PaymentNotice, RefundRequest
from tests.fakes.wechat_pay import FakeWechatPay
from tests.fakes.wechat_pay_protocol import APIV3_KEY
from tests.integrations.wechat.conftest import prepay
from tests.live import serve


@pytest.fixture(autouse=True)
def frozen(frozen_clock: FrozenClock) -> FrozenClock:
    return frozen_clock


def test_a_payment_notification_verifies_and_decrypts(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    prepay(provider)
    delivery = fake_pay.payment_notification(out_trade_no="P100", notification_id="N-1")
    notice = provider.parse_notification(delivery.headers, delivery.body)
    order = fake_pay.orders["P100"]
    assert notice == PaymentNotice(
        provider="wechatpay",
        notification_id="N-1",
        kind="payment",
        event_type="TRANSACTION.SUCCESS",
        out_trade_no="P100",
        succeeded=True,
        amount=19_900,
        transaction_id=order.transaction_id,
        payer_openid="o-shopper-1",
        occurred_at=datetime(2026, 11, 22, 2, 0, tzinfo=UTC),
        resource=notice.resource,
    )
    assert notice.resource["amount"] == {
        "total": 19_900,
        "currency": "CNY",
        "payer_total": 19_900,
        "payer_currency": "CNY",
    }
    # Header names arrive lower-cased from Starlette: the same notification verifies.
    lowered = {name.lower(): value for name, value in delivery.headers.items()}
    assert provider.parse_notification(lowered, delivery.body) == notice


def test_the_amount_is_the_order_total_even_with_wechat_vouchers(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    prepay(provider)
    # A WeChat-funded voucher: the shopper paid less, the order total is what we asked.
    delivery = fake_pay.payment_notification(out_trade_no="P100", amount=15_000)
    notice = provider.parse_notification(delivery.headers, delivery.body)
    assert notice.amount == 19_900
    assert notice.resource["amount"]["payer_total"] == 15_000
    mismatch = fake_pay.payment_notification(out_trade_no="P100", total=1)
    assert provider.parse_notification(mismatch.headers, mismatch.body).amount == 1


def test_a_tampered_body_is_refused(provider: WechatPayProvider, fake_pay: FakeWechatPay) -> None:
    prepay(provider)
    delivery = fake_pay.payment_notification(out_trade_no="P100", tamper=True)
    with pytest.raises(NotificationInvalid) as refused:
        provider.parse_notification(delivery.headers, delivery.body)
    assert (refused.value.status, refused.value.code, refused.value.data) == (
        401,
        "payment.notification_invalid",
        {"reason": "signature"},
    )


def test_a_notification_signed_under_another_key_id_is_refused(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    prepay(provider)
    delivery = fake_pay.payment_notification(out_trade_no="P100", serial="PUB_KEY_ID_OTHER")
    with pytest.raises(NotificationInvalid) as refused:
        provider.parse_notification(delivery.headers, delivery.body)
    assert refused.value.data == {"reason": "serial"}
    # Refused before the library could go looking for certificates.
    assert [request.path for request in fake_pay.requests] == ["/v3/pay/transactions/jsapi"]


@pytest.mark.parametrize(
    ("offset_seconds", "accepted"),
    [(-300, True), (300, True), (-301, False), (301, False), (-86_400, False)],
)
def test_notifications_more_than_five_minutes_off_are_refused(
    provider: WechatPayProvider, fake_pay: FakeWechatPay, offset_seconds: int, accepted: bool
) -> None:
    prepay(provider)
    stamp = int(clock.now().timestamp()) + offset_seconds
    delivery = fake_pay.payment_notification(out_trade_no="P100", timestamp=stamp)
    if accepted:
        assert provider.parse_notification(delivery.headers, delivery.body).succeeded
        return
    with pytest.raises(NotificationInvalid) as refused:
        provider.parse_notification(delivery.headers, delivery.body)
    assert refused.value.data == {"reason": "timestamp"}


def test_a_resource_encrypted_with_another_key_is_refused(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    prepay(provider)
    other_key = APIV3_KEY[::-1]
    delivery = fake_pay.payment_notification(out_trade_no="P100", apiv3_key=other_key)
    with pytest.raises(NotificationInvalid) as refused:
        provider.parse_notification(delivery.headers, delivery.body)
    assert refused.value.data == {"reason": "decryption"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda headers: headers.pop("Wechatpay-Signature"), "headers"),
        (lambda headers: headers.update({"Wechatpay-Timestamp": "soon"}), "headers"),
        (lambda headers: headers.update({"Wechatpay-Signature-Type": "SM2"}), "signature_type"),
        (lambda headers: headers.update({"Wechatpay-Signature": "bm90IGEgc2ln"}), "signature"),
    ],
)
def test_broken_headers_are_refused(
    provider: WechatPayProvider, fake_pay: FakeWechatPay, change: object, reason: str
) -> None:
    prepay(provider)
    delivery = fake_pay.payment_notification(out_trade_no="P100")
    headers = dict(delivery.headers)
    change(headers)  # type: ignore[operator]
    with pytest.raises(NotificationInvalid) as refused:
        provider.parse_notification(headers, delivery.body)
    assert refused.value.data == {"reason": reason}


def test_an_unknown_event_type_is_unsupported(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    prepay(provider)
    delivery = fake_pay.payment_notification(out_trade_no="P100", event="PROFITSHARING.SUCCESS")
    with pytest.raises(NotificationUnsupported) as refused:
        provider.parse_notification(delivery.headers, delivery.body)
    assert (refused.value.status, refused.value.code, refused.value.data) == (
        400,
        "payment.notification_unsupported",
        {"event_type": "PROFITSHARING.SUCCESS"},
    )


def test_a_refund_notification_maps_to_a_refund_notice(
    provider: WechatPayProvider, fake_pay: FakeWechatPay, frozen: FrozenClock
) -> None:
    prepay(provider)
    fake_pay.pay("P100")
    provider.refund(RefundRequest("P100", "R100", 5_000, 19_900, "尺码不合适"))
    frozen.advance(minutes=2)
    delivery = fake_pay.refund_notification(out_refund_no="R100", notification_id="N-R")
    notice = provider.parse_notification(delivery.headers, delivery.body)
    refund = fake_pay.refunds["R100"]
    assert notice == PaymentNotice(
        provider="wechatpay",
        notification_id="N-R",
        kind="refund",
        event_type="REFUND.SUCCESS",
        out_trade_no="P100",
        succeeded=True,
        amount=5_000,
        transaction_id=fake_pay.orders["P100"].transaction_id,
        occurred_at=datetime(2026, 11, 22, 2, 2, tzinfo=UTC),
        out_refund_no="R100",
        refund_id=refund.refund_id,
        resource=notice.resource,
    )
    abnormal = fake_pay.refund_notification(out_refund_no="R100", status="ABNORMAL")
    failed = provider.parse_notification(abnormal.headers, abnormal.body)
    assert (failed.event_type, failed.succeeded, failed.amount) == ("REFUND.ABNORMAL", False, 5_000)


def test_a_notification_posted_over_http_verifies(
    provider: WechatPayProvider, fake_pay: FakeWechatPay
) -> None:
    """The way the notification route will see it: Starlette headers, the raw body;
    the same notification delivered twice parses to the same notice."""
    received: list[PaymentNotice] = []
    receiver = FastAPI()

    @receiver.post("/notify")
    async def notify(request: Request) -> JSONResponse:
        try:
            received.append(provider.parse_notification(request.headers, await request.body()))
        except NotificationInvalid as error:
            return JSONResponse({"code": "FAIL", "message": error.code}, status_code=401)
        return JSONResponse({"code": "SUCCESS", "message": ""})

    prepay(provider)
    with serve(receiver, name="notify-receiver") as base:
        first = fake_pay.notify(f"{base}/notify", out_trade_no="P100", notification_id="N-9")
        again = fake_pay.deliver(f"{base}/notify", fake_pay.deliveries[-1])
        tampered = fake_pay.notify(f"{base}/notify", out_trade_no="P100", tamper=True)
    assert (first.status_code, again.status_code, tampered.status_code) == (200, 200, 401)
    assert tampered.json() == {"code": "FAIL", "message": "payment.notification_invalid"}
    assert [notice.notification_id for notice in received] == ["N-9", "N-9"]
    assert received[0] == received[1]
