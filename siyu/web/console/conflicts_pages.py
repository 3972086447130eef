"""The identity conflicts queue: two strong identifiers of one kind met on one person.

Listing needs ``customers.read`` (and shows only conflicts touching customers in the
caller's scope: siyu.customers.conflicts.list_conflicts); resolving or dismissing
needs ``customers.write`` and is audited by the service.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.customers import conflicts
from siyu.models.customer import ConflictStatus
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import Flash, attempt

router = APIRouter()

ReaderPage = Annotated[ConsolePage, Depends(page_requiring(Permission.CUSTOMERS_READ))]
WriterPage = Annotated[ConsolePage, Depends(page_requiring(Permission.CUSTOMERS_WRITE))]
CONFLICTS_PATH = "/console/customers/conflicts"
PAGE_SIZE = 50
STATUSES = [status.value for status in ConflictStatus]
MAX_NOTE_LENGTH = 200


def _status(raw: str | None) -> ConflictStatus | None:
    if raw == "all":
        return None
    return ConflictStatus(raw) if raw in STATUSES else ConflictStatus.OPEN


def _page(
    page: ConsolePage,
    session: Session,
    *,
    status_filter: str,
    offset: int = 0,
    flash: Flash | None = None,
    status: int = 200,
) -> HTMLResponse:
    rows = conflicts.list_conflicts(
        session, page.principal, _status(status_filter), limit=PAGE_SIZE + 1, offset=offset
    )
    return page.render(
        "conflicts.html",
        active="customers",
        status=status,
        conflicts=rows[:PAGE_SIZE],
        has_more=len(rows) > PAGE_SIZE,
        offset=offset,
        page_size=PAGE_SIZE,
        status_filter=status_filter,
        statuses=[*STATUSES, "all"],
        may_close=page.may(Permission.CUSTOMERS_WRITE),
        flash=flash,
    )


@router.get(CONFLICTS_PATH)
def conflict_list(
    page: ReaderPage,
    session: SessionDep,
    status: Annotated[str, Query(max_length=16)] = "open",
    offset: Annotated[int, Query(ge=0, le=100_000)] = 0,
    closed: int | None = None,
) -> HTMLResponse:
    flash = None
    if closed is not None:
        flash = Flash("success", page.t("conflicts.closed", id=closed))
    status_filter = status if status in [*STATUSES, "all"] else "open"
    return _page(page, session, status_filter=status_filter, offset=offset, flash=flash)


def _close(
    page: ConsolePage, session: Session, conflict_id: int, note: str, *, dismiss: bool
) -> Response:
    note = note.strip()
    if not note:
        flash = Flash("error", page.t("conflicts.note_required"))
        return _page(page, session, status_filter="open", flash=flash, status=422)
    outcome = attempt(
        session,
        lambda: conflicts.close_conflict(
            session, page.principal, conflict_id, note[:MAX_NOTE_LENGTH], dismiss
        ),
    )
    if isinstance(outcome, SiyuError):
        flash = Flash("error", error_message(page.t, outcome))
        return _page(page, session, status_filter="open", flash=flash, status=outcome.status)
    # Post/redirect/get, so a reload does not post the form again.
    return RedirectResponse(f"{CONFLICTS_PATH}?closed={outcome.id}", status_code=303)


@router.post(CONFLICTS_PATH + "/{conflict_id:int}/resolve")
def conflict_resolve(
    conflict_id: int,
    page: WriterPage,
    session: SessionDep,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    return _close(page, session, conflict_id, note, dismiss=False)


@router.post(CONFLICTS_PATH + "/{conflict_id:int}/dismiss")
def conflict_dismiss(
    conflict_id: int,
    page: WriterPage,
    session: SessionDep,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    return _close(page, session, conflict_id, note, dismiss=True)
