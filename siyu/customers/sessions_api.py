"""``POST /api/v1/customer-sessions``: issue a storefront session, server to server.

The brand's mini-program backend (role ``integration``) calls this after it knows who
the consumer is (wx.login → code2session on its side), then hands the token to the
mini program. Include the device's ``anonymous_id`` among the identities to stitch
its earlier anonymous events to the customer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from siyu.core.http import PiiDep, SessionDep
from siyu.customers import identify, sessions
from siyu.staff import audit
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["customers"])


class SessionIdentityIn(BaseModel):
    kind: str
    value: str
    namespace: str | None = None
    app_id: str | None = None
    corp_id: str | None = None
    platform: str | None = None

    def as_input(self) -> identify.IdentityInput:
        namespace = self.namespace or self.app_id or self.corp_id or self.platform
        return identify.IdentityInput(kind=self.kind, value=self.value, namespace=namespace)


class CustomerSessionIn(BaseModel):
    identities: list[SessionIdentityIn] = Field(min_length=1, max_length=10)
    touchpoint: str = Field(default="mp", max_length=32)
    ttl_days: int = sessions.DEFAULT_TTL_DAYS


class CustomerSessionOut(BaseModel):
    customer_id: int
    token: str = Field(description="Shown once; siyu keeps only its hash.")
    expires_at: datetime


@router.post("/customer-sessions", response_model=CustomerSessionOut)
def create_customer_session(
    body: CustomerSessionIn,
    session: SessionDep,
    cipher: PiiDep,
    principal: Annotated[Principal, Depends(require(Permission.CUSTOMERS_WRITE))],
) -> CustomerSessionOut:
    # A session token acts as the consumer on the storefront: only server-to-server
    # callers that may also send events (integration, operator, admin) issue one —
    # not guides or store managers, whose customers.write is scoped to their own.
    principal.require(Permission.EVENTS_TRACK)
    # Checked before identify so a bad touchpoint or ttl writes no customer.
    sessions.check_session_request(touchpoint=body.touchpoint, ttl_days=body.ttl_days)
    resolution = identify.identify(
        session,
        cipher,
        principal,
        [item.as_input() for item in body.identities],
        None,
        source=f"customer_session:{principal.username}",
    )
    raw, record = sessions.create_session(
        session,
        customer_id=resolution.customer_id,
        touchpoint=body.touchpoint,
        ttl_days=body.ttl_days,
    )
    audit.record(
        session,
        principal,
        "customer_session.create",
        target_type="customer",
        target_id=resolution.customer_id,
        detail={"session_id": record.id, "touchpoint": body.touchpoint},
    )
    return CustomerSessionOut(
        customer_id=resolution.customer_id, token=raw, expires_at=record.expires_at
    )
