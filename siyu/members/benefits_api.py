"""Operator benefits API under /api/v1/members/benefits (``members.manage``): the
grants given (birthday, anniversary, member day) and "run now"."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict

from siyu.core.http import SessionDep
from siyu.members import benefits, benefits_tasks
from siyu.models.member import BenefitKind
from siyu.staff import audit
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/members/benefits", tags=["members"])

Manager = Annotated[Principal, Depends(require(Permission.MEMBERS_MANAGE))]


class GrantOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    kind: str
    period: str
    detail: dict[str, Any]
    local_date: date
    created_at: datetime


class GrantList(BaseModel):
    items: list[GrantOut]


class RunOut(BaseModel):
    job_id: int


@router.get("/grants", response_model=GrantList)
def list_grants(
    session: SessionDep,
    _principal: Manager,
    kind: BenefitKind | None = None,
    customer_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> GrantList:
    grants = benefits.recent_grants(
        session, kind=kind.value if kind else None, customer_id=customer_id, limit=limit
    )
    return GrantList(items=[GrantOut.model_validate(grant) for grant in grants])


@router.post("/run", response_model=RunOut, status_code=202)
def run_now(session: SessionDep, principal: Manager) -> RunOut:
    job = benefits_tasks.run_now(session)
    audit.record(session, principal, "members.benefits.run", target_type="job", target_id=job.id)
    return RunOut(job_id=job.id)
