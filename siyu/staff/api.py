"""Staff, token and audit routes: parse, authorize, call the service, shape the output."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime

from siyu.core.http import SessionDep
from siyu.staff import audit, tokens
from siyu.staff import service as staff_service
from siyu.staff.auth import PrincipalDep, require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.staff.schemas import (
    AuditEntryOut,
    AuditPageOut,
    MeOut,
    PasswordReset,
    PasswordResetResult,
    RolesUpdate,
    StaffCreate,
    StaffOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
)

router = APIRouter(prefix="/api/v1", tags=["staff"])

StaffManager = Annotated[Principal, Depends(require(Permission.STAFF_MANAGE))]
AuditReader = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]


@router.get("/me")
def me(principal: PrincipalDep) -> MeOut:
    return MeOut(
        staff_id=principal.staff_id,
        username=principal.username,
        roles=sorted(principal.roles),
        permissions=sorted(principal.permissions),
        store_id=principal.store_id,
        auth_method=principal.via.value,
    )


@router.get("/staff")
def list_staff(
    session: SessionDep, principal: StaffManager, include_disabled: bool = True
) -> list[StaffOut]:
    members = staff_service.list_staff(session, principal, include_disabled=include_disabled)
    return [StaffOut.of(member) for member in members]


@router.post("/staff", status_code=status.HTTP_201_CREATED)
def create_staff(body: StaffCreate, session: SessionDep, principal: StaffManager) -> StaffOut:
    staff = staff_service.create_staff(
        session,
        principal,
        username=body.username,
        password=body.password,
        roles=body.roles,
        display_name=body.display_name,
        store_id=body.store_id,
        language=body.language,
    )
    return StaffOut.of(staff)


@router.get("/staff/{staff_id}")
def get_staff(staff_id: int, session: SessionDep, _principal: StaffManager) -> StaffOut:
    return StaffOut.of(staff_service.get_staff(session, staff_id))


@router.post("/staff/{staff_id}/disable")
def disable_staff(staff_id: int, session: SessionDep, principal: StaffManager) -> StaffOut:
    return StaffOut.of(staff_service.set_active(session, principal, staff_id, active=False))


@router.post("/staff/{staff_id}/enable")
def enable_staff(staff_id: int, session: SessionDep, principal: StaffManager) -> StaffOut:
    return StaffOut.of(staff_service.set_active(session, principal, staff_id, active=True))


@router.put("/staff/{staff_id}/roles")
def set_roles(
    staff_id: int, body: RolesUpdate, session: SessionDep, principal: StaffManager
) -> StaffOut:
    return StaffOut.of(staff_service.set_roles(session, principal, staff_id, body.roles))


@router.post("/staff/{staff_id}/password")
def reset_password(
    staff_id: int, body: PasswordReset, session: SessionDep, principal: StaffManager
) -> PasswordResetResult:
    password = staff_service.reset_password(
        session, principal, staff_id, new_password=body.password or None
    )
    return PasswordResetResult(password=password)


@router.get("/tokens")
def list_own_tokens(session: SessionDep, principal: PrincipalDep) -> list[TokenOut]:
    if principal.staff_id is None:
        return []
    return [
        TokenOut.model_validate(token)
        for token in tokens.list_tokens(session, principal, principal.staff_id)
    ]


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def create_own_token(
    body: TokenCreate, session: SessionDep, principal: PrincipalDep
) -> TokenCreated:
    assert principal.staff_id is not None  # API callers are always staff
    raw, token = tokens.create_token(
        session, principal, principal.staff_id, name=body.name, expires_days=body.expires_days
    )
    return TokenCreated(token=raw, **TokenOut.model_validate(token).model_dump())


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: int, session: SessionDep, principal: PrincipalDep) -> TokenOut:
    return TokenOut.model_validate(tokens.revoke_token(session, principal, token_id))


@router.get("/audit")
def search_audit(
    session: SessionDep,
    _principal: AuditReader,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPageOut:
    page = audit.search(
        session,
        audit.AuditFilter(
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            since=since,
            until=until,
        ),
        limit=limit,
        offset=offset,
    )
    return AuditPageOut(
        total=page.total,
        limit=limit,
        offset=offset,
        entries=[AuditEntryOut.model_validate(entry) for entry in page.entries],
    )
