"""Provider fixtures for the WeChat tests (the fake servers come from tests/fakes/fixtures.py)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from siyu.core import clock
from siyu.core.settings import Settings
from siyu.integrations.wechat.pay import WechatPayProvider, build_wechatpay_provider
from siyu.orders.payments.provider import PrepayRequest
from tests.fakes.wechat_pay import FakeWechatPay

SECRET_KEY = "test-secret-key-" + "x" * 32


def settings_with(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        database_url="sqlite://",
        data_dir=tmp_path / "data",
        secret_key=SECRET_KEY,
        run_worker=False,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def pay_settings(fake_pay: FakeWechatPay, tmp_path: Path) -> Settings:
    return settings_with(tmp_path, **fake_pay.settings_overrides(tmp_path / "keys"))


@pytest.fixture
def provider(pay_settings: Settings) -> WechatPayProvider:
    return build_wechatpay_provider(pay_settings)


def prepay(
    provider: WechatPayProvider, out_trade_no: str = "P100", amount: int = 19_900
) -> dict[str, str]:
    start = provider.start_payment(
        PrepayRequest(
            out_trade_no=out_trade_no,
            amount=amount,
            description="玫瑰精华水 150ml",
            expires_at=clock.now() + timedelta(minutes=30),
            payer_openid="o-shopper-1",
        )
    )
    return start.client_parameters
