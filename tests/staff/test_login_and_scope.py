"""Password login with lock-out, console sessions, and the data-scope hook."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.core.settings import Settings
from siyu.models.staff import LoginThrottle, Role, Staff
from siyu.staff import login
from siyu.staff import service as staff_service
from siyu.staff.principal import command_line_principal
from siyu.staff.scope import ScopeKind, scope_for, scoped
from tests.factories import DEFAULT_PASSWORD, make_staff, principal_of


def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, login_max_failures=3, login_lockout_minutes=10)


def test_wrong_password_and_unknown_user_fail_alike(session: Session, tmp_path: Path) -> None:
    make_staff(session, username="real")
    wrong = login.check_login(session, settings(tmp_path), "real", "nope", ip="1.2.3.4")
    unknown = login.check_login(session, settings(tmp_path), "ghost", "nope", ip="1.2.3.4")
    assert wrong.staff is None
    assert unknown.staff is None
    assert wrong.error is not None
    assert unknown.error is not None
    assert (wrong.error.status, wrong.error.code, wrong.error.message) == (
        unknown.error.status,
        unknown.error.code,
        unknown.error.message,
    )
    assert wrong.error.code == "auth.invalid_credentials"


def test_lockout_after_repeated_failures_then_expires(
    session: Session, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    config = settings(tmp_path)
    make_staff(session, username="target")
    for _ in range(3):
        result = login.check_login(session, config, "target", "bad", ip=None)
        assert result.error is not None
        assert result.error.code == "auth.invalid_credentials"
    locked = login.check_login(session, config, "TARGET", DEFAULT_PASSWORD, ip=None)
    assert locked.staff is None
    assert locked.error is not None
    assert locked.error.code == "auth.locked"
    assert locked.error.data["retry_after_seconds"] == 601

    # Unknown usernames lock the same way, so lock-outs reveal nothing.
    for _ in range(4):
        ghost = login.check_login(session, config, "ghost", "bad", ip=None)
    assert ghost.error is not None
    assert ghost.error.code == "auth.locked"

    frozen_clock.advance(minutes=10, seconds=1)
    ok = login.check_login(session, config, "target", DEFAULT_PASSWORD, ip=None)
    assert ok.error is None
    assert ok.staff is not None
    assert session.get(LoginThrottle, "target") is None


def test_failure_window_resets(session: Session, tmp_path: Path, frozen_clock: FrozenClock) -> None:
    config = settings(tmp_path)
    make_staff(session, username="slow")
    login.check_login(session, config, "slow", "bad", ip=None)
    login.check_login(session, config, "slow", "bad", ip=None)
    frozen_clock.advance(minutes=16)
    login.check_login(session, config, "slow", "bad", ip=None)
    throttle = session.scalar(select(LoginThrottle).where(LoginThrottle.username == "slow"))
    assert throttle is not None
    assert (throttle.failures, throttle.locked_until) == (1, None)


def test_disabled_account_cannot_log_in(session: Session, tmp_path: Path) -> None:
    make_staff(session, username="gone", is_active=False)
    result = login.check_login(session, settings(tmp_path), "gone", DEFAULT_PASSWORD, ip=None)
    assert result.error is not None
    assert result.error.code == "auth.invalid_credentials"


def test_sessions_end_on_password_reset_and_expiry(
    session: Session, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    config = settings(tmp_path)
    staff = make_staff(session, username="sess")
    opened = login.open_session(session, config, staff, ip="::1")
    resolved = login.resolve_session(session, opened.token)
    assert resolved is not None
    assert resolved[0].id == staff.id

    staff_service.reset_password(session, command_line_principal(), staff.id)
    assert login.resolve_session(session, opened.token) is None

    fresh = login.open_session(session, config, staff, ip=None)
    frozen_clock.advance(timedelta(hours=config.session_hours, seconds=1))
    assert login.resolve_session(session, fresh.token) is None


def test_logout_closes_the_session(session: Session, tmp_path: Path) -> None:
    staff = make_staff(session)
    opened = login.open_session(session, settings(tmp_path), staff, ip=None)
    login.close_session(session, opened.token)
    assert login.resolve_session(session, opened.token) is None


def test_scope_kinds() -> None:
    def principal(roles: set[Role], store_id: int | None = None) -> object:
        base = command_line_principal()
        from dataclasses import replace

        from siyu.staff.permissions import permissions_for

        return replace(
            base,
            staff_id=5,
            roles=frozenset(roles),
            permissions=permissions_for(frozenset(roles)),
            store_id=store_id,
        )

    assert scope_for(principal({Role.ANALYST})).kind is ScopeKind.ALL  # type: ignore[arg-type]
    manager = scope_for(principal({Role.STORE_MANAGER}, store_id=3))  # type: ignore[arg-type]
    assert (manager.kind, manager.store_id) == (ScopeKind.STORE, 3)
    orphan = scope_for(principal({Role.STORE_MANAGER}))  # type: ignore[arg-type]
    assert orphan.kind is ScopeKind.NONE
    guide = scope_for(principal({Role.GUIDE}, store_id=3))  # type: ignore[arg-type]
    assert (guide.kind, guide.staff_id) == (ScopeKind.OWN, 5)


def test_scoped_reads_filter_by_store_and_self(session: Session) -> None:
    manager = make_staff(session, roles=[Role.STORE_MANAGER], store_id=1)
    colleague = make_staff(session, roles=[Role.GUIDE], store_id=1)
    elsewhere = make_staff(session, roles=[Role.GUIDE], store_id=2)
    admin = make_staff(session, roles=[Role.ADMIN])

    def visible(viewer: Staff) -> set[int]:
        statement = scoped(select(Staff.id), Staff, principal_of(viewer))
        return set(session.scalars(statement).all())

    assert visible(manager) == {manager.id, colleague.id}
    assert visible(elsewhere) == {elsewhere.id}
    assert {manager.id, colleague.id, elsewhere.id, admin.id} <= visible(admin)


def test_unregistered_model_is_invisible_to_restricted_scopes(session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    statement = scoped(select(LoginThrottle), LoginThrottle, principal_of(guide))
    login.check_login(session, Settings(), "someone", "bad", ip=None)
    assert session.scalars(statement).all() == []
