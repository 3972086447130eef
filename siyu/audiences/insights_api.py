"""Operator API for the audience settings, the RFM matrix and the lifecycle overview.

``GET/PUT /api/v1/audiences/config``, ``GET /api/v1/audiences/rfm``,
``GET /api/v1/audiences/lifecycle``; all need ``audiences.manage``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query

from siyu.audiences import config, insights
from siyu.audiences import merge as _merge  # noqa: F401  (registers the re-pointers)
from siyu.audiences import profile as _profile  # noqa: F401  (registers the 360 section)
from siyu.audiences.config_schemas import AudienceSettings
from siyu.audiences.insights_schemas import LifecycleOut, RfmMatrixOut
from siyu.core import clock
from siyu.core.http import SessionDep
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/audiences", tags=["audiences"])

Manager = Annotated[Principal, Depends(require(Permission.AUDIENCES_MANAGE))]


@router.get("/config", response_model=AudienceSettings)
def get_config(session: SessionDep, _principal: Manager) -> AudienceSettings:
    return config.load(session)


@router.put("/config", response_model=AudienceSettings)
def put_config(
    session: SessionDep, principal: Manager, body: Annotated[dict[str, Any], Body()]
) -> AudienceSettings:
    # Validated by the service (a stable audience.config_invalid code with every error).
    return config.save(session, body, principal)


@router.get("/rfm", response_model=RfmMatrixOut)
def get_rfm(session: SessionDep, _principal: Manager) -> RfmMatrixOut:
    return insights.rfm_matrix(session, now=clock.now())


@router.get("/lifecycle", response_model=LifecycleOut)
def get_lifecycle(
    session: SessionDep,
    _principal: Manager,
    days: Annotated[int, Query(ge=1, le=3650)] = insights.HISTORY_DAYS,
    model: Literal["aipl", "ops"] | None = None,
) -> LifecycleOut:
    return insights.lifecycle_overview(session, now=clock.now(), days=days, model=model)
