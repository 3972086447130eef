"""Consumer sessions for the storefront API (``/api/shop/v1``).

A session token (``sc_…``) is shown once when issued and stored as a SHA-256 hash,
like staff API tokens. The storefront sends it as ``X-Siyu-Customer-Token`` or
``Authorization: Bearer sc_…``; ``navigator.sendBeacon`` cannot set headers, so the
tracking endpoints also accept it in the body (``session_token``).

Issuing happens server-to-server (``POST /api/v1/customer-sessions``, by the brand's
mini-program backend after ``wx.login``); the WeChat code2session flow that issues
it from the mini program itself comes with the WeChat integration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import clock, security
from siyu.core.errors import Unauthorized, ValidationFailed
from siyu.core.http import SessionDep
from siyu.events.catalogue import TOUCHPOINTS
from siyu.models.customer import Customer, CustomerSession, CustomerStatus

TOKEN_PREFIX = "sc"
TOKEN_HEADER = "X-Siyu-Customer-Token"
DEFAULT_TTL_DAYS = 30
MAX_TTL_DAYS = 90
# A merge chain is short (merged ids point at a live survivor); bound it anyway.
_MAX_MERGE_HOPS = 5


class CustomerSessionInvalid(Unauthorized):
    code = "customer.session_invalid"
    message = "The customer session is missing, unknown or expired."


class InvalidSessionRequest(ValidationFailed):
    code = "customer.invalid_session_request"


@dataclass(frozen=True)
class ShopCustomer:
    """Who is calling a storefront route."""

    customer_id: int
    session_id: int
    touchpoint: str


def check_session_request(*, touchpoint: str, ttl_days: int) -> None:
    if touchpoint not in TOUCHPOINTS:
        raise InvalidSessionRequest(
            f"Unknown touchpoint {touchpoint!r}.", data={"field": "touchpoint"}
        )
    if not 1 <= ttl_days <= MAX_TTL_DAYS:
        raise InvalidSessionRequest(
            f"ttl_days must be between 1 and {MAX_TTL_DAYS}.", data={"field": "ttl_days"}
        )


def create_session(
    session: Session, *, customer_id: int, touchpoint: str, ttl_days: int = DEFAULT_TTL_DAYS
) -> tuple[str, CustomerSession]:
    """A new session for ``customer_id``; the raw token is returned once, never stored."""
    check_session_request(touchpoint=touchpoint, ttl_days=ttl_days)
    now = clock.now()
    raw = security.new_token(TOKEN_PREFIX)
    record = CustomerSession(
        customer_id=customer_id,
        token_hash=security.hash_token(raw),
        touchpoint=touchpoint,
        created_at=now,
        expires_at=now + timedelta(days=ttl_days),
    )
    session.add(record)
    session.flush()
    return raw, record


def resolve_token(session: Session, raw: str | None) -> ShopCustomer | None:
    """The live customer behind ``raw``, following merges; None when invalid or expired."""
    if not raw or not raw.startswith(TOKEN_PREFIX + "_"):
        return None
    # One query for the common case (a live customer): every storefront request pays it.
    row = session.execute(
        select(
            CustomerSession.id,
            CustomerSession.touchpoint,
            CustomerSession.expires_at,
            Customer.id.label("customer_id"),
            Customer.status,
            Customer.merged_into_id,
        )
        .join(Customer, Customer.id == CustomerSession.customer_id)
        .where(CustomerSession.token_hash == security.hash_token(raw))
    ).one_or_none()
    if row is None or row.expires_at <= clock.now():
        return None
    status, merged_into_id, customer_id = row.status, row.merged_into_id, row.customer_id
    for _hop in range(_MAX_MERGE_HOPS):
        if status == CustomerStatus.ERASED:
            return None
        if status != CustomerStatus.MERGED or merged_into_id is None:
            return ShopCustomer(customer_id, row.id, row.touchpoint)
        # A session issued before a merge keeps working for the survivor.
        customer_id = merged_into_id
        survivor = session.execute(
            select(Customer.status, Customer.merged_into_id).where(Customer.id == customer_id)
        ).one_or_none()
        if survivor is None:
            return None
        status, merged_into_id = survivor.status, survivor.merged_into_id
    return None


def token_from_headers(request: Request) -> str | None:
    header = request.headers.get(TOKEN_HEADER)
    if header:
        return header.strip()
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip().startswith(TOKEN_PREFIX + "_"):
        return credentials.strip()
    return None


_TOKEN_HEADER_RAW = TOKEN_HEADER.lower().encode()


def token_from_asgi_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    """:func:`token_from_headers` on a raw ASGI scope's headers (the plain ASGI
    routes of ``siyu.core.asgi_routes``)."""
    token = authorization = None
    for name, value in headers:
        if name == _TOKEN_HEADER_RAW:
            if token is None:
                token = value
        elif name == b"authorization" and authorization is None:
            authorization = value
    if token:
        return token.decode("latin-1").strip()
    scheme, _, credentials = (authorization or b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip().startswith(TOKEN_PREFIX + "_"):
        return credentials.strip()
    return None


def current_customer(request: Request, session: SessionDep) -> ShopCustomer:
    """Dependency for storefront routes: the session's customer, or 401."""
    customer = resolve_token(session, token_from_headers(request))
    if customer is None:
        raise CustomerSessionInvalid()
    return customer


CurrentCustomer = Annotated[ShopCustomer, Depends(current_customer)]
