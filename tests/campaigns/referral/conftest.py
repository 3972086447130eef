"""Referral fixtures: a cipher, installed settings and a frozen clock."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest

from siyu import handlers
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings, install
from tests.customers.factories import make_cipher

# Services enqueue other domains' jobs: every task must be registered, as in the worker.
handlers.load_all()
importlib.import_module("siyu.members.tasks")


@pytest.fixture
def cipher() -> PiiCipher:
    return make_cipher()


@pytest.fixture
def settings(test_settings: Settings) -> Iterator[Settings]:
    install(test_settings)
    yield test_settings
    install(None)
