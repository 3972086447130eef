"""Group-buy fixtures: a cipher, installed settings, and a shelf at the frozen clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings, install
from tests.customers.factories import make_cipher
from tests.orders.factories import Shelf, make_shelf


@pytest.fixture
def cipher() -> PiiCipher:
    return make_cipher()


@pytest.fixture
def settings(test_settings: Settings) -> Iterator[Settings]:
    install(test_settings)
    yield test_settings
    install(None)


@pytest.fixture
def shelf(session: Session, frozen_clock: object) -> Shelf:
    return make_shelf(session, prices=(12900,), warehouse_stock=100, store_stock=0)
