"""Coupon tests: the test settings' PII cipher and a settings object for services."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings, install
from tests.customers.factories import make_cipher


@pytest.fixture
def cipher() -> PiiCipher:
    return make_cipher()


@pytest.fixture
def settings(test_settings: Settings) -> Iterator[Settings]:
    """The test settings, installed for jobs (which read ``settings.current()``)."""
    install(test_settings)
    yield test_settings
    install(None)
