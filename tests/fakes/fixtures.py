"""Fixtures for the fake WeChat servers, loaded by the root conftest for every test.

One fake WeChat Pay and one fake WeChat API server per test run, reset per test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fakes.wechat_api import FakeWechatApi
from tests.fakes.wechat_pay import FakeWechatPay


@pytest.fixture(scope="session")
def fake_pay_server() -> Iterator[FakeWechatPay]:
    fake = FakeWechatPay()
    with fake.running():
        yield fake


@pytest.fixture
def fake_pay(fake_pay_server: FakeWechatPay) -> FakeWechatPay:
    fake_pay_server.reset()
    return fake_pay_server


@pytest.fixture(scope="session")
def fake_api_server() -> Iterator[FakeWechatApi]:
    fake = FakeWechatApi()
    with fake.running():
        yield fake


@pytest.fixture
def fake_api(fake_api_server: FakeWechatApi) -> FakeWechatApi:
    fake_api_server.reset()
    return fake_api_server
