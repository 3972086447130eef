"""Identify and identity-conflict routes: parse, authorize, call the service, shape output."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from siyu.core.http import PiiDep, SessionDep
from siyu.customers import conflicts
from siyu.customers.identify import identify
from siyu.customers.identity_schemas import ConflictClose, ConflictOut, IdentifyIn, IdentifyOut
from siyu.models.customer import ConflictStatus
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["customers"])

Writer = Annotated[Principal, Depends(require(Permission.CUSTOMERS_WRITE))]
Reader = Annotated[Principal, Depends(require(Permission.CUSTOMERS_READ))]


@router.post("/identify")
def identify_route(
    body: IdentifyIn, session: SessionDep, cipher: PiiDep, principal: Writer
) -> IdentifyOut:
    result = identify(
        session,
        cipher,
        principal,
        [item.to_input() for item in body.identities],
        body.traits.to_traits() if body.traits is not None else None,
        source=f"api:{principal.username}"[:64],
    )
    return IdentifyOut(
        customer_id=result.customer_id,
        created=result.created,
        merged_customer_ids=result.merged_customer_ids,
    )


@router.get("/customer-conflicts")
def list_conflicts_route(
    session: SessionDep,
    principal: Reader,
    status: ConflictStatus | None = ConflictStatus.OPEN,
    limit: Annotated[int, Query(ge=1, le=conflicts.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ConflictOut]:
    rows = conflicts.list_conflicts(session, principal, status, limit, offset)
    return [ConflictOut.model_validate(row) for row in rows]


@router.post("/customer-conflicts/{conflict_id}/resolve")
def resolve_conflict_route(
    conflict_id: int, body: ConflictClose, session: SessionDep, principal: Writer
) -> ConflictOut:
    row = conflicts.close_conflict(session, principal, conflict_id, body.resolution, dismiss=False)
    return ConflictOut.model_validate(row)


@router.post("/customer-conflicts/{conflict_id}/dismiss")
def dismiss_conflict_route(
    conflict_id: int, body: ConflictClose, session: SessionDep, principal: Writer
) -> ConflictOut:
    row = conflicts.close_conflict(session, principal, conflict_id, body.resolution, dismiss=True)
    return ConflictOut.model_validate(row)
