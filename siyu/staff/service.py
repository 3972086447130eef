"""Staff accounts: create, list, disable, reset password, roles."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from siyu.core import security
from siyu.models.staff import Role, Staff, StaffRole
from siyu.staff import audit
from siyu.staff.errors import (
    InvalidUsername,
    LastAdmin,
    SelfLockout,
    StaffNotFound,
    UsernameTaken,
    WeakPassword,
)
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.staff.scope import scoped

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,63}$")
LANGUAGES = ("zh-CN", "en")


def normalise_username(username: str) -> str:
    return username.strip().lower()


def validate_password(password: str) -> None:
    if len(password) < security.MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"Passwords need at least {security.MIN_PASSWORD_LENGTH} characters.",
            data={"min_length": security.MIN_PASSWORD_LENGTH},
        )


def _validate_roles(roles: Iterable[Role | str]) -> list[Role]:
    try:
        parsed = sorted({Role(role) for role in roles})
    except ValueError as error:
        raise InvalidUsername(
            str(error), code="staff.invalid_role", data={"allowed": [r.value for r in Role]}
        ) from error
    if not parsed:
        raise InvalidUsername("At least one role is required.", code="staff.invalid_role")
    return parsed


def get_staff(session: Session, staff_id: int) -> Staff:
    staff = session.scalar(
        select(Staff).where(Staff.id == staff_id).options(selectinload(Staff.roles))
    )
    if staff is None:
        raise StaffNotFound(data={"staff_id": staff_id})
    return staff


def find_by_username(session: Session, username: str) -> Staff | None:
    return session.scalar(
        select(Staff)
        .where(Staff.username == normalise_username(username))
        .options(selectinload(Staff.roles))
    )


def list_staff(
    session: Session, viewer: Principal, *, include_disabled: bool = True
) -> list[Staff]:
    statement = select(Staff).options(selectinload(Staff.roles)).order_by(Staff.id)
    if not include_disabled:
        statement = statement.where(Staff.is_active.is_(True))
    return list(session.scalars(scoped(statement, Staff, viewer)).all())


def create_staff(
    session: Session,
    actor: Principal,
    *,
    username: str,
    password: str,
    roles: Iterable[Role | str],
    display_name: str = "",
    store_id: int | None = None,
    language: str = "zh-CN",
) -> Staff:
    actor.require(Permission.STAFF_MANAGE)
    username = normalise_username(username)
    if not USERNAME_PATTERN.match(username):
        raise InvalidUsername(
            "Usernames are 2–64 characters: letters, digits, '_', '.', '-'.",
            data={"field": "username"},
        )
    validate_password(password)
    role_list = _validate_roles(roles)
    if language not in LANGUAGES:
        raise InvalidUsername(
            "Unknown language.", code="staff.invalid_language", data={"allowed": LANGUAGES}
        )
    if find_by_username(session, username) is not None:
        raise UsernameTaken(data={"username": username})
    staff = Staff(
        username=username,
        display_name=display_name.strip(),
        password_hash=security.hash_password(password),
        store_id=store_id,
        language=language,
        roles=[StaffRole(role=role.value) for role in role_list],
    )
    # A concurrent create of the same username loses the race at the unique index;
    # the savepoint keeps the caller's transaction usable for the 409.
    try:
        with session.begin_nested():
            session.add(staff)
    except IntegrityError as error:
        raise UsernameTaken(data={"username": username}) from error
    audit.record(
        session,
        actor,
        "staff.create",
        target_type="staff",
        target_id=staff.id,
        detail={"username": username, "roles": [r.value for r in role_list]},
    )
    return staff


def _count_other_active_admins(session: Session, staff_id: int) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Staff)
            .join(StaffRole)
            .where(
                StaffRole.role == Role.ADMIN.value,
                Staff.is_active.is_(True),
                Staff.id != staff_id,
            )
        )
        or 0
    )


def set_active(session: Session, actor: Principal, staff_id: int, *, active: bool) -> Staff:
    actor.require(Permission.STAFF_MANAGE)
    staff = get_staff(session, staff_id)
    if not active:
        if staff.id == actor.staff_id:
            raise SelfLockout()
        is_admin = any(link.role == Role.ADMIN.value for link in staff.roles)
        if is_admin and _count_other_active_admins(session, staff.id) == 0:
            raise LastAdmin()
        # Ends every console session of this account at once.
        staff.session_generation += 1
    staff.is_active = active
    audit.record(
        session,
        actor,
        "staff.enable" if active else "staff.disable",
        target_type="staff",
        target_id=staff.id,
        detail={"username": staff.username},
    )
    return staff


def reset_password(
    session: Session, actor: Principal, staff_id: int, *, new_password: str | None = None
) -> str:
    """Set a new password (generated when none is given) and return it, to be shown once."""
    actor.require(Permission.STAFF_MANAGE)
    staff = get_staff(session, staff_id)
    password = new_password or security.generate_password()
    validate_password(password)
    staff.password_hash = security.hash_password(password)
    staff.session_generation += 1
    audit.record(
        session,
        actor,
        "staff.reset_password",
        target_type="staff",
        target_id=staff.id,
        detail={"username": staff.username, "generated": new_password is None},
    )
    return password


def set_roles(
    session: Session, actor: Principal, staff_id: int, roles: Iterable[Role | str]
) -> Staff:
    actor.require(Permission.STAFF_MANAGE)
    staff = get_staff(session, staff_id)
    role_list = _validate_roles(roles)
    had_admin = any(link.role == Role.ADMIN.value for link in staff.roles)
    if (
        had_admin
        and Role.ADMIN not in role_list
        and staff.is_active
        and _count_other_active_admins(session, staff.id) == 0
    ):
        raise LastAdmin()
    before = sorted(link.role for link in staff.roles)
    wanted = {role.value for role in role_list}
    # Edit the collection in place: replacing it would delete and re-insert rows with
    # the same primary key in one flush.
    for link in [link for link in staff.roles if link.role not in wanted]:
        staff.roles.remove(link)
    for role in sorted(wanted - set(before)):
        staff.roles.append(StaffRole(role=role))
    audit.record(
        session,
        actor,
        "staff.set_roles",
        target_type="staff",
        target_id=staff.id,
        detail={"before": before, "after": [r.value for r in role_list]},
    )
    return staff


def count_staff(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Staff)) or 0
