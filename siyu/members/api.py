"""Operator members API under /api/v1/members: program rules, tiers, a member's card,
points ledger and adjustments, growth tasks, manual tier changes and the ledger audit.

``members.manage`` for everything except manual points adjustments, which need
``points.adjust`` (admins). Customer routes respect the caller's data scope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response

from siyu.catalog.params import PathId
from siyu.core.http import SessionDep
from siyu.core.pagination import DEFAULT_LIMIT
from siyu.members import audit, growth, program, reads, tier_changes, tiers
from siyu.members import points as points_service
from siyu.members.memberships import ladder
from siyu.members.presenters import membership_out, visible_customer
from siyu.members.schemas import (
    AdjustmentIn,
    AuditOut,
    GrowthTaskIn,
    GrowthTaskOut,
    MembershipOut,
    MismatchOut,
    PointsEntryOut,
    PointsPage,
    TierIn,
    TierList,
    TierOut,
    TierSetIn,
    TierUpdate,
)
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/members", tags=["members"])

Manager = Annotated[Principal, Depends(require(Permission.MEMBERS_MANAGE))]
Adjuster = Annotated[Principal, Depends(require(Permission.POINTS_ADJUST))]


@router.get("/program", response_model=program.ProgramConfig)
def get_program(session: SessionDep, _principal: Manager) -> program.ProgramConfig:
    return program.current(session)


@router.put("/program", response_model=program.ProgramConfig)
def put_program(
    session: SessionDep, principal: Manager, body: Annotated[dict[str, Any], Body()]
) -> program.ProgramConfig:
    return program.save(session, principal, program.validate(body))


@router.get("/tiers", response_model=TierList)
def list_tiers(session: SessionDep, _principal: Manager) -> TierList:
    return TierList(items=[TierOut.model_validate(tier) for tier in ladder(session)])


@router.post("/tiers", response_model=TierOut, status_code=201)
def create_tier(session: SessionDep, principal: Manager, body: TierIn) -> TierOut:
    return TierOut.model_validate(tiers.create(session, principal, body))


@router.patch("/tiers/{tier_id}", response_model=TierOut)
def update_tier(
    tier_id: PathId, session: SessionDep, principal: Manager, body: TierUpdate
) -> TierOut:
    return TierOut.model_validate(tiers.update(session, principal, tier_id, body))


@router.delete("/tiers/{tier_id}", status_code=204)
def delete_tier(tier_id: PathId, session: SessionDep, principal: Manager) -> Response:
    tiers.delete(session, principal, tier_id)
    return Response(status_code=204)


@router.get("/audit", response_model=AuditOut)
def run_audit(session: SessionDep, _principal: Manager) -> AuditOut:
    report = audit.run(session)
    return AuditOut(
        ok=report.ok,
        memberships=report.memberships,
        mismatches=[MismatchOut(**vars(m)) for m in report.mismatches],
    )


@router.get("/{customer_id}", response_model=MembershipOut)
def get_membership(customer_id: PathId, session: SessionDep, principal: Manager) -> MembershipOut:
    visible_customer(session, principal, customer_id)
    return membership_out(reads.summary(session, customer_id, changes=10))


@router.get("/{customer_id}/points", response_model=PointsPage)
def list_points(
    customer_id: PathId,
    session: SessionDep,
    principal: Manager,
    limit: int = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PointsPage:
    visible_customer(session, principal, customer_id)
    rows, next_cursor = reads.ledger_page(session, customer_id, limit=limit, cursor=cursor)
    available, frozen = points_service.balance(session, customer_id)
    return PointsPage(
        items=[PointsEntryOut.model_validate(row) for row in rows],
        next_cursor=next_cursor,
        available=available,
        frozen=frozen,
    )


@router.post("/{customer_id}/points/adjustments", response_model=PointsEntryOut, status_code=201)
def adjust_points(
    customer_id: PathId, session: SessionDep, principal: Adjuster, body: AdjustmentIn
) -> PointsEntryOut:
    visible_customer(session, principal, customer_id)
    entry = points_service.adjust(session, principal, customer_id, body.amount, reason=body.reason)
    return PointsEntryOut.model_validate(entry)


@router.post("/{customer_id}/growth-tasks", response_model=GrowthTaskOut, status_code=201)
def complete_growth_task(
    customer_id: PathId, session: SessionDep, principal: Manager, body: GrowthTaskIn
) -> GrowthTaskOut:
    visible_customer(session, principal, customer_id)
    added = growth.complete_task(session, customer_id, body.task, actor=principal.username)
    summary = reads.summary(session, customer_id)
    return GrowthTaskOut(task=body.task, growth=added, growth_value=summary.growth_value)


@router.put("/{customer_id}/tier", response_model=MembershipOut)
def set_tier(
    customer_id: PathId, session: SessionDep, principal: Manager, body: TierSetIn
) -> MembershipOut:
    visible_customer(session, principal, customer_id)
    tier_changes.set_tier(session, principal, customer_id, body.tier_id, reason=body.reason)
    return membership_out(reads.summary(session, customer_id, changes=10))
