"""Customer 360, search, timeline and privacy routes under /api/v1/customers.

Routes parse, authorize and shape; the rules live in the services (profile, search,
timeline, privacy). Scope is applied inside the services: a customer outside the
caller's scope is a 404, never a 403.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from siyu.core.http import PiiDep, SessionDep
from siyu.customers import privacy, profile, search, timeline
from siyu.customers.schemas import (
    CustomerPage,
    CustomerProfile,
    EraseRequest,
    EraseResult,
    TimelinePage,
)
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/customers", tags=["customers"])

Reader = Annotated[Principal, Depends(require(Permission.CUSTOMERS_READ))]
PiiHolder = Annotated[Principal, Depends(require(Permission.CUSTOMERS_PII))]


@router.get("", response_model=CustomerPage)
def list_customers(
    principal: Reader,
    session: SessionDep,
    cipher: PiiDep,
    q: Annotated[str, Query(max_length=search.MAX_QUERY_LENGTH)] = "",
    guide_id: int | None = None,
    tag: Annotated[int | None, Query(description="tag id")] = None,
    touchpoint: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: int = search.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CustomerPage:
    filters = search.CustomerFilter(
        q=q, guide_id=guide_id, tag_id=tag, touchpoint=touchpoint, status=status
    )
    return search.search(session, principal, cipher, filters, limit=limit, cursor=cursor)


@router.get("/{customer_id}", response_model=CustomerProfile)
def get_customer(
    customer_id: int, principal: Reader, session: SessionDep, cipher: PiiDep
) -> CustomerProfile:
    return profile.get_profile(session, principal, cipher, customer_id)


@router.get("/{customer_id}/timeline", response_model=TimelinePage)
def get_timeline(
    customer_id: int,
    principal: Reader,
    session: SessionDep,
    limit: int = timeline.DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,  # noqa: A002 (the API's name)
) -> TimelinePage:
    return timeline.timeline(
        session, principal, customer_id, limit=limit, cursor=cursor, event_type=type
    )


@router.get("/{customer_id}/export")
def export_customer(
    customer_id: int, principal: PiiHolder, session: SessionDep, cipher: PiiDep
) -> JSONResponse:
    document: dict[str, Any] = privacy.export_customer(session, principal, cipher, customer_id)
    return JSONResponse(
        jsonable_encoder(document),
        headers={
            "Content-Disposition": f'attachment; filename="customer-{customer_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/{customer_id}/erase", response_model=EraseResult)
def erase_customer(
    customer_id: int, body: EraseRequest, principal: PiiHolder, session: SessionDep
) -> EraseResult:
    return privacy.erase_customer(session, principal, customer_id, reason=body.reason)
