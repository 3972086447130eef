"""Staff management for admins: list, create, disable/enable, reset password, roles.

Every write goes through ``siyu.staff.service`` (which checks the rules and writes the
audit rows). Row actions answer htmx with the re-rendered row; plain form posts get a
redirect or the full page, so the console works without JavaScript too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.staff import Role, Staff
from siyu.staff import service as staff_service
from siyu.staff.permissions import Permission
from siyu.web.console import rendering
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message, flash_fragment
from siyu.web.i18n import DEFAULT_LANGUAGE, LANGUAGES

router = APIRouter()

StaffPage = Annotated[ConsolePage, Depends(page_requiring(Permission.STAFF_MANAGE))]
ROLES = [role.value for role in Role]
STAFF_PATH = "/console/staff"

# Which form field an error belongs next to.
_FIELD_BY_CODE = {
    "staff.username_taken": "username",
    "staff.invalid_username": "username",
    "staff.weak_password": "password",
    "staff.invalid_role": "roles",
    "staff.invalid_language": "language",
}

ResultT = TypeVar("ResultT")


@dataclass
class CreateForm:
    username: str = ""
    display_name: str = ""
    roles: list[str] = field(default_factory=list)
    language: str = DEFAULT_LANGUAGE
    error: str | None = None
    error_field: str | None = None


@dataclass
class Flash:
    kind: str
    message: str
    # A generated password, shown once beside the message.
    secret: str | None = None


def attempt(session: Session, action: Callable[[], ResultT]) -> ResultT | SiyuError:
    """Run one service call in a savepoint and return its error instead of raising.

    The route goes on to render a normal page, so the request's transaction commits:
    the savepoint makes sure nothing the failed call flushed is committed with it.
    """
    try:
        with session.begin_nested():
            return action()
    except SiyuError as error:
        return error


def _staff_page(
    page: ConsolePage,
    session: Session,
    *,
    form: CreateForm | None = None,
    flash: Flash | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "staff.html",
        active="staff",
        status=status,
        members=staff_service.list_staff(session, page.principal),
        form=form or CreateForm(),
        flash=flash,
        roles=ROLES,
        languages=LANGUAGES,
    )


def _row_response(
    page: ConsolePage, member: Staff, *, flash: Flash | None = None, status: int = 200
) -> HTMLResponse:
    return page.render(
        "partials/staff_row_swap.html",
        active="staff",
        status=status,
        member=member,
        roles=ROLES,
        flash=flash,
    )


def _failed(page: ConsolePage, session: Session, error: SiyuError) -> Response:
    message = error_message(page.t, error)
    if rendering.is_htmx(page.request):
        return flash_fragment(page.request, page.t, message=message, status=error.status)
    return _staff_page(page, session, flash=Flash("error", message), status=error.status)


@router.get(STAFF_PATH)
def staff_list(page: StaffPage, session: SessionDep, created: int | None = None) -> HTMLResponse:
    flash = None
    if created is not None:
        # Looked up rather than echoed from the URL, so a crafted link cannot put words here.
        member = session.get(Staff, created)
        if member is not None:
            flash = Flash("success", page.t("staff.created", username=member.username))
    return _staff_page(page, session, flash=flash)


@router.post(STAFF_PATH)
def staff_create(
    page: StaffPage,
    session: SessionDep,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    roles: Annotated[list[str] | None, Form()] = None,
    language: Annotated[str, Form(max_length=10)] = DEFAULT_LANGUAGE,
) -> Response:
    chosen_roles = roles or []
    outcome = attempt(
        session,
        lambda: staff_service.create_staff(
            session,
            page.principal,
            username=username,
            password=password,
            roles=chosen_roles,
            display_name=display_name,
            language=language,
        ),
    )
    if isinstance(outcome, SiyuError):
        # Everything the operator typed comes back, except the password.
        form = CreateForm(
            username=username,
            display_name=display_name,
            roles=chosen_roles,
            language=language,
            error=error_message(page.t, outcome),
            error_field=_FIELD_BY_CODE.get(outcome.code),
        )
        return _staff_page(page, session, form=form, status=outcome.status)
    # Post/redirect/get: a reload must not submit the form again.
    return RedirectResponse(f"{STAFF_PATH}?created={outcome.id}", status_code=303)


def _set_active(page: ConsolePage, session: Session, staff_id: int, *, active: bool) -> Response:
    outcome = attempt(
        session,
        lambda: staff_service.set_active(session, page.principal, staff_id, active=active),
    )
    if isinstance(outcome, SiyuError):
        return _failed(page, session, outcome)
    if rendering.is_htmx(page.request):
        key = "staff.enabled" if active else "staff.disabled"
        return _row_response(
            page, outcome, flash=Flash("success", page.t(key, username=outcome.username))
        )
    return RedirectResponse(STAFF_PATH, status_code=303)


@router.post(STAFF_PATH + "/{staff_id}/disable")
def staff_disable(staff_id: int, page: StaffPage, session: SessionDep) -> Response:
    return _set_active(page, session, staff_id, active=False)


@router.post(STAFF_PATH + "/{staff_id}/enable")
def staff_enable(staff_id: int, page: StaffPage, session: SessionDep) -> Response:
    return _set_active(page, session, staff_id, active=True)


@router.post(STAFF_PATH + "/{staff_id}/password")
def staff_reset_password(staff_id: int, page: StaffPage, session: SessionDep) -> Response:
    outcome = attempt(
        session, lambda: staff_service.reset_password(session, page.principal, staff_id)
    )
    if isinstance(outcome, SiyuError):
        return _failed(page, session, outcome)
    member = staff_service.get_staff(session, staff_id)
    # Shown in this one response only; it is never stored in clear or put in a URL.
    flash = Flash("password", page.t("staff.password_reset", username=member.username), outcome)
    if rendering.is_htmx(page.request):
        return _row_response(page, member, flash=flash)
    return _staff_page(page, session, flash=flash)


@router.post(STAFF_PATH + "/{staff_id}/roles")
def staff_set_roles(
    staff_id: int,
    page: StaffPage,
    session: SessionDep,
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    outcome = attempt(
        session, lambda: staff_service.set_roles(session, page.principal, staff_id, roles or [])
    )
    if isinstance(outcome, SiyuError):
        return _failed(page, session, outcome)
    if rendering.is_htmx(page.request):
        message = page.t("staff.roles_saved", username=outcome.username)
        return _row_response(page, outcome, flash=Flash("success", message))
    return RedirectResponse(STAFF_PATH, status_code=303)
