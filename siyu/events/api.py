"""Operator/integration tracking API: ``POST /api/v1/track``, ``GET /api/v1/event-types``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from siyu.core.http import PiiDep, SessionDep, SettingsDep
from siyu.events import service
from siyu.events.catalogue import catalogue
from siyu.events.schemas import TRACK_OPENAPI, TrackResultOut, parse_batch
from siyu.events.validate import IngestPolicy
from siyu.staff.auth import PrincipalDep, require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["events"])


async def batch_events(request: Request) -> list[Any]:
    # Async only to read the body; the database work runs in the route, in the pool.
    events, _document = parse_batch(await request.body())
    return events


BatchDep = Annotated[list[Any], Depends(batch_events)]


@router.post("/track", response_model=TrackResultOut, openapi_extra=TRACK_OPENAPI)
def track(
    session: SessionDep,
    cipher: PiiDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require(Permission.EVENTS_TRACK))],
    events: BatchDep,
) -> dict[str, Any]:
    """Store a batch of tracked events; durable once this returns 200.

    Not audited per call: tracking is data ingestion at volume, and every stored
    event already carries its source; the token that sent it is in the access log.
    """
    result = service.ingest(
        session,
        cipher,
        events,
        source=f"track:{principal.username}",
        policy=IngestPolicy.from_settings(settings),
    )
    return result.as_dict()


@router.get("/event-types")
def event_types(_principal: PrincipalDep) -> dict[str, object]:
    return catalogue()
