"""The customer card for WeCom's chat sidebar (侧边栏): /console/sidebar?external_userid=…

A compact (≈360 px) page a guide opens beside a chat: the customer's profile masked
per permission, tags, guide, touches and recent events. It is authenticated by the
console session for now; WeCom's JS-SDK OAuth sign-in (which would identify the guide
from the WeCom app itself) comes with the WeCom integration. Scope is the API's: a
guide sees only their own customers, and anyone else's — or an unknown
external_userid — gets a friendly "not in siyu" card, not an error page.

WeCom opens sidebar apps in its own web view, not in a frame, so the console's
``X-Frame-Options: DENY`` does not get in the way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from siyu.core.http import PiiDep, SessionDep
from siyu.customers import profile, timeline
from siyu.customers.errors import CustomerNotFound
from siyu.models.customer import CustomerIdentity, IdentityKind
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring

router = APIRouter()

ReaderPage = Annotated[ConsolePage, Depends(page_requiring(Permission.CUSTOMERS_READ))]
SIDEBAR_PATH = "/console/sidebar"
RECENT_EVENTS = 10


@router.get(SIDEBAR_PATH)
def sidebar(
    page: ReaderPage,
    session: SessionDep,
    cipher: PiiDep,
    external_userid: Annotated[str, Query(max_length=128)] = "",
    corp_id: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    external_userid = external_userid.strip()
    statement = select(CustomerIdentity.customer_id).where(
        CustomerIdentity.kind == IdentityKind.WECOM_EXTERNAL_USERID,
        CustomerIdentity.lookup_key == external_userid,
    )
    if corp_id.strip():
        statement = statement.where(CustomerIdentity.namespace == corp_id.strip())
    # Without corp_id, a single-corp installation still finds the one match; with
    # several corps the first is shown (external_userids are random, clashes are rare).
    customer_id = session.scalars(statement.order_by(CustomerIdentity.id).limit(1)).first()
    shown = None
    if external_userid and customer_id is not None:
        try:
            shown = profile.get_profile(session, page.principal, cipher, customer_id)
        except CustomerNotFound:
            shown = None
    events = (
        timeline.events_page(session, shown.id, limit=RECENT_EVENTS) if shown is not None else None
    )
    return page.render(
        "sidebar.html",
        active="customers",
        customer=shown,
        events=events,
        external_userid=external_userid,
    )
