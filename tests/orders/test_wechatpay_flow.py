"""WeChat Pay v3 end to end: prepay through the storefront API, signed notifications to
our notification route, refunds through the fake WeChat Pay server — on both engines."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings, install
from siyu.customers import sessions
from siyu.customers.identify import IdentityInput
from siyu.models.order import Order, OrderStatus
from siyu.models.payment import PaymentNotification, Refund, RefundStatus
from siyu.orders import lifecycle, refunds
from siyu.orders.payments import registry
from tests.customers.factories import make_customer
from tests.fakes.wechat_pay import FakeWechatPay
from tests.orders.factories import ADDRESS, make_shelf

NOTIFY = "/api/payments/wechatpay/notify"


@pytest.fixture
def test_settings(db_url: str, tmp_path: Path, fake_pay: FakeWechatPay) -> Settings:
    """The shared ``api`` client's settings, pointed at the fake WeChat Pay."""
    overrides = fake_pay.settings_overrides(tmp_path / "keys")
    settings = Settings(
        database_url=db_url,
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + "x" * 32,
        run_worker=False,
        wechat_mp_appid=overrides["wechatpay_appid"],
        **overrides,
    )
    install(settings)
    return settings


@pytest.fixture(autouse=True)
def _uninstall() -> object:
    yield None
    install(None)


def _shopper(session: Session, cipher: PiiCipher, settings: Settings) -> dict[str, str]:
    customer = make_customer(
        session,
        cipher,
        identities=[IdentityInput("mp_openid", "o-shopper-1", settings.wechat_mp_appid)],
    )
    raw, _ = sessions.create_session(session, customer_id=customer.id, touchpoint="mp")
    return {sessions.TOKEN_HEADER: raw}


def _order_and_prepay(
    api: TestClient, session: Session, headers: dict[str, str]
) -> tuple[str, str, dict[str, str]]:
    shelf = make_shelf(session)
    order = api.post(
        "/api/shop/v1/orders",
        json={"items": [{"sku_id": shelf.skus[0].id, "quantity": 1}], "address": ADDRESS},
        headers=headers,
    ).json()
    pay = api.post(f"/api/shop/v1/orders/{order['public_id']}/pay", json={}, headers=headers)
    assert pay.status_code == 200, pay.text
    body = pay.json()
    return order["public_id"], body["payment_id"], body["client_parameters"]


def test_prepay_notify_twice_pays_once(
    api: TestClient,
    session: Session,
    test_settings: Settings,
    fake_pay: FakeWechatPay,
    cipher: PiiCipher,
) -> None:
    headers = _shopper(session, cipher, test_settings)
    public_id, out_trade_no, parameters = _order_and_prepay(api, session, headers)
    assert parameters["package"].startswith("prepay_id=")
    assert parameters["signType"] == "RSA"
    assert fake_pay.orders[out_trade_no].payer_openid == "o-shopper-1"
    delivery = fake_pay.payment_notification(out_trade_no=out_trade_no)
    first = api.post(NOTIFY, content=delivery.body, headers=delivery.headers)
    again = api.post(NOTIFY, content=delivery.body, headers=delivery.headers)
    assert (first.status_code, first.json()["outcome"]) == (200, "applied")
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
    assert order.status == OrderStatus.PAID
    assert order.paid_amount == order.total_amount


def test_forged_notification_is_401_and_changes_nothing(
    api: TestClient,
    session: Session,
    test_settings: Settings,
    fake_pay: FakeWechatPay,
    cipher: PiiCipher,
) -> None:
    headers = _shopper(session, cipher, test_settings)
    public_id, out_trade_no, _ = _order_and_prepay(api, session, headers)
    delivery = fake_pay.payment_notification(out_trade_no=out_trade_no, tamper=True)
    response = api.post(NOTIFY, content=delivery.body, headers=delivery.headers)
    assert (response.status_code, response.json()["code"]) == (401, "payment.notification_invalid")
    order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
    assert order.status == OrderStatus.PENDING_PAYMENT
    assert session.scalars(select(PaymentNotification)).all() == []


def test_amount_mismatch_is_rejected_and_flagged(
    api: TestClient,
    session: Session,
    test_settings: Settings,
    fake_pay: FakeWechatPay,
    cipher: PiiCipher,
) -> None:
    headers = _shopper(session, cipher, test_settings)
    public_id, out_trade_no, _ = _order_and_prepay(api, session, headers)
    delivery = fake_pay.payment_notification(out_trade_no=out_trade_no, total=1)
    response = api.post(NOTIFY, content=delivery.body, headers=delivery.headers)
    assert response.json()["outcome"] == "rejected"
    order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
    assert order.status == OrderStatus.PENDING_PAYMENT
    flagged = session.scalars(select(PaymentNotification)).one()
    assert flagged.is_flagged is True
    assert "amount mismatch" in flagged.detail


def test_refund_goes_through_wechat_and_settles_on_its_notification(
    api: TestClient,
    session: Session,
    test_settings: Settings,
    fake_pay: FakeWechatPay,
    cipher: PiiCipher,
) -> None:
    headers = _shopper(session, cipher, test_settings)
    public_id, out_trade_no, _ = _order_and_prepay(api, session, headers)
    delivery = fake_pay.payment_notification(out_trade_no=out_trade_no)
    api.post(NOTIFY, content=delivery.body, headers=delivery.headers)
    order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
    refund = refunds.request_refund(
        session, order, items=None, reason="不想要了", requested_by="customer"
    )
    refunds.approve(session, refund, actor="staff:ops")
    submission = refunds.prepare_submission(session, refund.id)
    assert submission is not None
    provider = registry.provider_for("wechatpay", test_settings)
    refunds.record_submission(session, submission, provider.refund(submission.request))
    session.refresh(refund)
    assert refund.status == RefundStatus.PROCESSING
    assert refund.public_id in fake_pay.refunds
    notice = fake_pay.refund_notification(out_refund_no=refund.public_id)
    response = api.post(NOTIFY, content=notice.body, headers=notice.headers)
    assert response.json()["outcome"] == "applied"
    session.refresh(refund)
    session.refresh(order)
    assert refund.status == RefundStatus.SUCCEEDED
    assert order.status == OrderStatus.REFUNDED
    assert order.refunded_amount == order.paid_amount


def test_payment_after_auto_cancel_is_refunded_through_wechat(
    api: TestClient,
    session: Session,
    test_settings: Settings,
    fake_pay: FakeWechatPay,
    cipher: PiiCipher,
    frozen_clock: FrozenClock,
) -> None:
    headers = _shopper(session, cipher, test_settings)
    public_id, out_trade_no, _ = _order_and_prepay(api, session, headers)
    order = session.scalars(select(Order).where(Order.public_id == public_id)).one()
    frozen_clock.advance(timedelta(minutes=test_settings.order_payment_minutes, seconds=1))
    lifecycle.expire_unpaid(session, {"order_id": order.id})
    assert order.status == OrderStatus.CANCELLED
    delivery = fake_pay.payment_notification(out_trade_no=out_trade_no)
    response = api.post(NOTIFY, content=delivery.body, headers=delivery.headers)
    assert response.json()["outcome"] == "refunded_late"
    refund = session.scalars(select(Refund).where(Refund.order_id == order.id)).one()
    submission = refunds.prepare_submission(session, refund.id)
    assert submission is not None
    provider = registry.provider_for("wechatpay", test_settings)
    refunds.record_submission(session, submission, provider.refund(submission.request))
    assert fake_pay.refunds[refund.public_id].refund == order.total_amount
    session.refresh(order)
    assert order.status == OrderStatus.CANCELLED
