"""Fixtures of the flash-sale tests: installed settings, every handler and task."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from siyu import handlers
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings, install
from tests.customers.factories import make_cipher

handlers.load_all()
importlib.import_module("siyu.campaigns.tasks")


@pytest.fixture
def cipher() -> PiiCipher:
    return make_cipher()


@pytest.fixture
def settings(test_settings: Settings) -> Iterator[Settings]:
    install(test_settings)
    yield test_settings
    install(None)
