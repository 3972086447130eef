"""The audit log viewer: filters, pages of 50, times in the installation's zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from siyu.core.http import SessionDep, SettingsDep
from siyu.staff import audit
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring

router = APIRouter()

AuditPage = Annotated[ConsolePage, Depends(page_requiring(Permission.AUDIT_READ))]
PAGE_SIZE = 50
# Deep offsets are slow and nobody reads page 10 000; narrow the filters instead.
MAX_PAGE = 2000


@dataclass(frozen=True)
class AuditQuery:
    actor: str = ""
    action: str = ""
    target_type: str = ""
    since: str = ""
    until: str = ""

    def as_params(self) -> list[tuple[str, str]]:
        return [(key, value) for key, value in vars(self).items() if value]


def _parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def local_day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` where the operator lives: the filter means their calendar day."""
    return datetime.combine(day, time.min, tzinfo=zone)


def page_link(query: AuditQuery, page_number: int) -> str:
    return "/console/audit?" + urlencode([*query.as_params(), ("page", str(page_number))])


@router.get("/console/audit")
def audit_log(
    page: AuditPage,
    session: SessionDep,
    settings: SettingsDep,
    actor: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    target_type: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page_number: Annotated[int, Query(alias="page", ge=1, le=MAX_PAGE)] = 1,
) -> HTMLResponse:
    query = AuditQuery(
        actor.strip(), action.strip(), target_type.strip(), since.strip(), until.strip()
    )
    since_day, until_day = _parse_day(query.since), _parse_day(query.until)
    invalid_dates = (query.since and since_day is None) or (query.until and until_day is None)
    zone = settings.tzinfo
    criteria = audit.AuditFilter(
        actor=query.actor or None,
        action=query.action or None,
        target_type=query.target_type or None,
        since=local_day_start(since_day, zone) if since_day else None,
        # The end date is inclusive: everything before the next local midnight.
        until=local_day_start(until_day + timedelta(days=1), zone) if until_day else None,
    )
    result = audit.search(session, criteria, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
    last_page = max(1, -(-result.total // PAGE_SIZE))
    return page.render(
        "audit.html",
        active="audit",
        query=query,
        entries=result.entries,
        total=result.total,
        page_number=page_number,
        last_page=last_page,
        previous_link=page_link(query, page_number - 1) if page_number > 1 else None,
        next_link=page_link(query, page_number + 1) if page_number < last_page else None,
        invalid_dates=bool(invalid_dates),
    )
