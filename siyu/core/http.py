"""Request-scoped dependencies shared by every router."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.core.settings import Settings


def get_settings_dependency(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """The request owns the transaction (DESIGN.md convention 1).

    Services only add and flush. The session commits after the route returns and
    before the response is sent (scope="function" below), so a failed commit becomes
    an error response instead of a success the database never saw; any exception
    rolls everything back.
    """
    factory: sessionmaker[Session] = request.app.state.session_factory
    with transaction(factory) as session:
        yield session


TransactionFactory = Callable[[], AbstractContextManager[Session]]


def get_transactions(request: Request) -> TransactionFactory:
    """For the few routes that must not hold one transaction for the whole request
    (they call a payment provider between two short transactions). Each call opens a
    transaction that commits when its block ends."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    return lambda: transaction(factory)


def get_pii_cipher(request: Request) -> PiiCipher:
    cipher: PiiCipher = request.app.state.pii
    return cipher


PiiDep = Annotated[PiiCipher, Depends(get_pii_cipher)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings_dependency)]
TransactionsDep = Annotated[TransactionFactory, Depends(get_transactions)]


def client_ip(request: Request) -> str | None:
    # Behind a reverse proxy, run uvicorn with --proxy-headers so this is the real client.
    return request.client.host if request.client else None
