"""Tracked events: the catalogue with volumes, and the newest events as they arrive."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from siyu.core import clock
from siyu.core.http import SessionDep
from siyu.events import stats
from siyu.events.catalogue import EVENT_TYPES
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring

router = APIRouter()

# Volumes across every customer are analytics, not one customer's data.
EventsPage = Annotated[ConsolePage, Depends(page_requiring(Permission.ANALYTICS_READ))]
RECENT_LIMIT = 50


@router.get("/console/events")
def events_overview(page: EventsPage, session: SessionDep) -> HTMLResponse:
    now = clock.now()
    last_day = stats.counts_by_type(session, since=now - timedelta(days=1))
    last_week = stats.counts_by_type(session, since=now - timedelta(days=7))
    # Catalogue types first, in catalogue order, then custom types seen this week.
    names = list(EVENT_TYPES) + sorted(set(last_week) - set(EVENT_TYPES))
    rows = [(name, last_day.get(name, 0), last_week.get(name, 0)) for name in names]
    return page.render(
        "events.html",
        active="events",
        rows=rows,
        descriptions={name: item.description for name, item in EVENT_TYPES.items()},
        recent=stats.recent_events(session, limit=RECENT_LIMIT),
        recent_limit=RECENT_LIMIT,
    )
