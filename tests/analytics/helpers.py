"""Setup the analytics tests share: data committed and synced to the warehouse, and
API calls as a staff member of a given role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.db import transaction
from siyu.models.staff import Role
from siyu.warehouse import export
from siyu.warehouse.engine import Warehouse
from tests.factories import make_staff, make_token

T = TypeVar("T")


def commit_and_export(
    engine: Engine,
    session_factory: sessionmaker[Session],
    warehouse: Warehouse,
    build: Callable[[Session, datetime], T],
) -> T:
    """``build(session, now)`` committed (outside the test's rolled-back session) and
    synced to the warehouse as of the (frozen) clock's now."""
    now = clock.now()
    with transaction(session_factory) as session:
        built = build(session, now)
    export.sync(engine, warehouse, now=now)
    return built


def bearer_headers(session: Session, role: Role, store_id: int | None = None) -> dict[str, str]:
    """The Authorization header of a new staff member with ``role`` (of ``store_id``)."""
    staff = make_staff(session, roles=[role], store_id=store_id)
    return {"Authorization": f"Bearer {make_token(session, staff)}"}
