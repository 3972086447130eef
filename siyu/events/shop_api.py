"""Storefront tracking: ``/api/shop/v1/track`` (customer session) and an anonymous beacon.

* ``POST /track`` — events of the session's customer. The token comes in a header
  or, for ``navigator.sendBeacon`` (which cannot set headers), as ``session_token``
  in the body. Identities inside the events are ignored: the session decides who.
* ``POST /track/anonymous`` — for H5 pages before the visitor is known: only
  ``anonymous_id`` identities, at most 100 events per call, rate-limited per IP.
  Anonymous ids are stitched to the customer when a session is issued with the
  device's anonymous id among its identities.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from siyu.core.http import PiiDep, SessionDep, SettingsDep, client_ip
from siyu.customers import sessions
from siyu.events import service
from siyu.events.errors import TrackRateLimited
from siyu.events.schemas import TRACK_OPENAPI, TrackResultOut, parse_batch
from siyu.events.validate import IngestPolicy

router = APIRouter(prefix="/api/shop/v1", tags=["storefront"])

ANONYMOUS_MAX_EVENTS = 100
ANONYMOUS_REQUESTS_PER_MINUTE = 120


async def _document(request: Request) -> tuple[list[Any], dict[str, Any]]:
    return parse_batch(await request.body())


async def _anonymous_document(request: Request) -> tuple[list[Any], dict[str, Any]]:
    return parse_batch(await request.body(), max_events=ANONYMOUS_MAX_EVENTS)


DocumentDep = Annotated[tuple[list[Any], dict[str, Any]], Depends(_document)]
AnonymousDocumentDep = Annotated[tuple[list[Any], dict[str, Any]], Depends(_anonymous_document)]


@router.post("/track", response_model=TrackResultOut, openapi_extra=TRACK_OPENAPI)
def track(
    request: Request,
    session: SessionDep,
    cipher: PiiDep,
    settings: SettingsDep,
    document: DocumentDep,
) -> dict[str, Any]:
    events, body = document
    token = sessions.token_from_headers(request)
    if token is None and isinstance(body.get("session_token"), str):
        token = body["session_token"]
    customer = sessions.resolve_token(session, token)
    if customer is None:
        raise sessions.CustomerSessionInvalid()
    result = service.ingest(
        session,
        cipher,
        events,
        source=f"shop:{customer.touchpoint}",
        forced_customer_id=customer.customer_id,
        policy=IngestPolicy.from_settings(settings),
    )
    return result.as_dict()


@router.post("/track/anonymous", response_model=TrackResultOut, openapi_extra=TRACK_OPENAPI)
def track_anonymous(
    request: Request,
    session: SessionDep,
    cipher: PiiDep,
    settings: SettingsDep,
    document: AnonymousDocumentDep,
) -> dict[str, Any]:
    decision = request.app.state.rate_limiter.hit(
        f"track:anonymous:{client_ip(request) or 'unknown'}",
        limit=ANONYMOUS_REQUESTS_PER_MINUTE,
        window_seconds=60,
    )
    if not decision.allowed:
        raise TrackRateLimited(data={"retry_after_seconds": decision.retry_after_seconds})
    events, _body = document
    result = service.ingest(
        session,
        cipher,
        events,
        source="shop:anonymous",
        policy=IngestPolicy.from_settings(settings),
        anonymous_only=True,
    )
    return result.as_dict()
