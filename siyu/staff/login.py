"""Console login: password check, lock-out, and server-side sessions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from siyu.core import clock, security
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.staff import ConsoleSession, LoginThrottle, Staff
from siyu.staff import audit
from siyu.staff.errors import InvalidCredentials, LoginLocked
from siyu.staff.principal import AuthMethod, principal_for_staff
from siyu.staff.service import find_by_username, normalise_username

SESSION_TOKEN_PREFIX = "sys"


@dataclass(frozen=True)
class LoginResult:
    """The outcome of a login attempt.

    Failures are returned, not raised: the failed-attempt counter must commit with
    the request, and raising would roll it back.
    """

    staff: Staff | None
    error: SiyuError | None


def _throttle_row(session: Session, username: str) -> LoginThrottle | None:
    return session.get(LoginThrottle, username, with_for_update=True)


def check_login(
    session: Session, settings: Settings, username: str, password: str, *, ip: str | None
) -> LoginResult:
    username = normalise_username(username)[:64]
    now = clock.now()
    throttle = _throttle_row(session, username)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        retry_after = int((throttle.locked_until - now).total_seconds()) + 1
        return LoginResult(None, LoginLocked(data={"retry_after_seconds": retry_after}))

    staff = find_by_username(session, username)
    hash_to_check = staff.password_hash if staff is not None else None
    password_ok = security.verify_password(hash_to_check, password)
    if staff is not None and password_ok and staff.is_active:
        if throttle is not None:
            session.delete(throttle)
        if staff.password_hash and security.password_needs_rehash(staff.password_hash):
            staff.password_hash = security.hash_password(password)
        staff.last_login_at = now
        actor = principal_for_staff(staff, via=AuthMethod.SESSION, ip=ip)
        audit.record(session, actor, "auth.login", target_type="staff", target_id=staff.id)
        session.flush()
        return LoginResult(staff, None)

    window = timedelta(minutes=settings.login_failure_window_minutes)
    if throttle is None:
        throttle = LoginThrottle(username=username, failures=0, window_started_at=now)
        session.add(throttle)
    elif throttle.window_started_at + window <= now:
        throttle.failures = 0
        throttle.window_started_at = now
        throttle.locked_until = None
    throttle.failures += 1
    if throttle.failures >= settings.login_max_failures:
        throttle.locked_until = now + timedelta(minutes=settings.login_lockout_minutes)
    session.flush()
    return LoginResult(None, InvalidCredentials())


@dataclass(frozen=True)
class OpenedSession:
    token: str
    csrf_token: str
    record: ConsoleSession


def open_session(
    session: Session, settings: Settings, staff: Staff, *, ip: str | None
) -> OpenedSession:
    now = clock.now()
    token = security.new_token(SESSION_TOKEN_PREFIX)
    record = ConsoleSession(
        staff_id=staff.id,
        token_hash=security.hash_token(token),
        csrf_token=secrets.token_urlsafe(32),
        generation=staff.session_generation,
        ip=ip,
        created_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
    )
    session.add(record)
    # Expired sessions are swept here rather than by a job: logins are rare and cheap.
    session.execute(delete(ConsoleSession).where(ConsoleSession.expires_at <= now))
    session.flush()
    return OpenedSession(token=token, csrf_token=record.csrf_token, record=record)


def resolve_session(session: Session, token: str) -> tuple[Staff, ConsoleSession] | None:
    record = session.scalar(
        select(ConsoleSession).where(ConsoleSession.token_hash == security.hash_token(token))
    )
    if record is None or record.expires_at <= clock.now():
        return None
    staff = session.scalar(
        select(Staff).where(Staff.id == record.staff_id).options(selectinload(Staff.roles))
    )
    if staff is None or not staff.is_active or staff.session_generation != record.generation:
        return None
    return staff, record


def close_session(session: Session, token: str) -> None:
    session.execute(
        delete(ConsoleSession).where(ConsoleSession.token_hash == security.hash_token(token))
    )
