"""Typed keyword-only factories for tests (DESIGN.md convention 10)."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from siyu.models.staff import Role, Staff
from siyu.staff import service as staff_service
from siyu.staff import tokens
from siyu.staff.principal import AuthMethod, Principal, command_line_principal, principal_for_staff

DEFAULT_PASSWORD = "correct-horse-battery"
_sequence = itertools.count(1)


def make_staff(
    session: Session,
    *,
    username: str | None = None,
    roles: list[Role] | None = None,
    password: str = DEFAULT_PASSWORD,
    store_id: int | None = None,
    is_active: bool = True,
) -> Staff:
    staff = staff_service.create_staff(
        session,
        command_line_principal("test"),
        username=username or f"user{next(_sequence)}",
        password=password,
        roles=roles or [Role.OPERATOR],
        store_id=store_id,
    )
    staff.is_active = is_active
    session.flush()
    return staff


def principal_of(staff: Staff, *, ip: str | None = "127.0.0.1") -> Principal:
    return principal_for_staff(staff, via=AuthMethod.TOKEN, ip=ip)


def make_token(session: Session, staff: Staff, *, expires_days: int | None = None) -> str:
    raw, _token = tokens.create_token(
        session, command_line_principal("test"), staff.id, expires_days=expires_days
    )
    return raw
