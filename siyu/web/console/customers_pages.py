"""Customer list (search and filters), the 360 profile page and its timeline rows.

Pages call the same services as the API (siyu.customers.search / profile /
timeline), so scope and masking are the API's: a guide lists only their own
customers, and a customer outside the caller's scope is "not found".
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.http import PiiDep, SessionDep
from siyu.customers import profile, search, timeline
from siyu.events.catalogue import TOUCHPOINTS
from siyu.models.customer import Tag
from siyu.models.staff import Role, Staff, StaffRole
from siyu.staff.permissions import Permission
from siyu.staff.scope import scoped
from siyu.web.console.deps import ConsolePage, page_requiring

router = APIRouter()

ReaderPage = Annotated[ConsolePage, Depends(page_requiring(Permission.CUSTOMERS_READ))]
CUSTOMERS_PATH = "/console/customers"
PAGE_SIZE = 20
TIMELINE_PAGE_SIZE = 20
FILTER_OPTION_LIMIT = 500


def _optional_int(raw: str | None) -> int | None:
    # Filter selects send "" for "any"; anything else that is not a number is ignored.
    return int(raw) if raw and raw.isdigit() else None


def _guide_options(session: Session, page: ConsolePage) -> list[Staff]:
    statement = (
        scoped(select(Staff), Staff, page.principal)
        .where(Staff.id.in_(select(StaffRole.staff_id).where(StaffRole.role == Role.GUIDE)))
        .order_by(Staff.username)
    )
    return list(session.scalars(statement.limit(FILTER_OPTION_LIMIT)))


def _tag_options(session: Session) -> list[Tag]:
    return list(
        session.scalars(select(Tag).order_by(Tag.group_name, Tag.name).limit(FILTER_OPTION_LIMIT))
    )


@router.get(CUSTOMERS_PATH)
def customer_list(
    page: ReaderPage,
    session: SessionDep,
    cipher: PiiDep,
    q: Annotated[str, Query(max_length=search.MAX_QUERY_LENGTH)] = "",
    guide_id: Annotated[str | None, Query(max_length=20)] = None,
    tag: Annotated[str | None, Query(max_length=20)] = None,
    touchpoint: Annotated[str | None, Query(max_length=32)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:
    filters = search.CustomerFilter(
        q=q,
        guide_id=_optional_int(guide_id),
        tag_id=_optional_int(tag),
        touchpoint=touchpoint or None,
    )
    result = search.search(
        session, page.principal, cipher, filters, limit=PAGE_SIZE, cursor=cursor or None
    )
    query: dict[str, Any] = {
        "q": q,
        "guide_id": filters.guide_id,
        "tag": filters.tag_id,
        "touchpoint": filters.touchpoint or "",
    }
    return page.render(
        "customers.html",
        active="customers",
        result=result,
        query=query,
        guides=_guide_options(session, page),
        tags=_tag_options(session),
        touchpoints=list(TOUCHPOINTS),
        filtered=bool(q.strip() or filters.guide_id or filters.tag_id or filters.touchpoint),
    )


@router.get(CUSTOMERS_PATH + "/{customer_id:int}")
def customer_profile(
    customer_id: int, page: ReaderPage, session: SessionDep, cipher: PiiDep
) -> HTMLResponse:
    shown = profile.get_profile(session, page.principal, cipher, customer_id)
    events = timeline.events_page(session, shown.id, limit=TIMELINE_PAGE_SIZE)
    return page.render(
        "customer_profile.html",
        active="customers",
        customer=shown,
        events=events,
        may_export=page.may(Permission.CUSTOMERS_PII),
    )


@router.get(CUSTOMERS_PATH + "/{customer_id:int}/timeline")
def customer_timeline_rows(
    customer_id: int,
    page: ReaderPage,
    session: SessionDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[str | None, Query(max_length=64)] = None,  # noqa: A002 (the API's name)
) -> HTMLResponse:
    """The next rows and a new "load more" button, for htmx to swap in."""
    events = timeline.timeline(
        session,
        page.principal,
        customer_id,
        limit=TIMELINE_PAGE_SIZE,
        cursor=cursor or None,
        event_type=type or None,
    )
    return page.render("partials/customer_timeline_rows.html", active="customers", events=events)
