"""Console pages for members (会员): tiers, program rules, a member's card, the audit.

``/console/members``: the tier ladder (create, edit, delete) and a member lookup;
``/console/members/program``: the rules form (growth, points, expiry, member day,
birthday, anniversary, refunds); ``/console/members/{customer_id}``: tier, growth,
points and ledger, manual adjustment (``points.adjust``) and tier change;
``/console/members/audit``: the ledger audit. Writes go through the services, which
validate and audit; forms post and redirect, so the pages work without JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.members import audit, growth, memberships, program, reads, tier_changes, tiers
from siyu.members import points as points_service
from siyu.members.presenters import visible_customer as visible_or_404
from siyu.members.schemas import TierIn, TierUpdate
from siyu.models.member import MemberTier
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.members_forms import (
    TIER_FIELDS,
    ProgramForm,
    TierForm,
    program_document,
    program_form_values,
    tier_form_values,
    tier_payload,
)
from siyu.web.console.staff_pages import attempt

router = APIRouter()

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.MEMBERS_MANAGE))]
BASE = "/console/members"
ACTIVE = "members"
Text = Annotated[str, Form(max_length=2000)]
DONE_KEYS = {"created", "saved", "deleted", "program", "adjusted", "tier_set", "task"}


def _flash(page: ConsolePage, done: str) -> str | None:
    return page.t(f"members.done.{done}") if done in DONE_KEYS else None


def _home(
    page: ConsolePage,
    session: Session,
    *,
    form: TierForm | None = None,
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "members/index.html",
        active=ACTIVE,
        status=status,
        tiers=memberships.ladder(session),
        form=form or TierForm(),
        fields=TIER_FIELDS,
        flash=flash,
        error=error,
    )


@router.get(BASE)
def members_home(page: ManagePage, session: SessionDep, done: str = "") -> HTMLResponse:
    return _home(page, session, flash=_flash(page, done))


@router.get(BASE + "/lookup")
def members_lookup(page: ManagePage, session: SessionDep, customer_id: str = "") -> Response:
    if not customer_id.strip().isdigit():
        return _home(page, session, error=page.t("members.lookup_invalid"), status=422)
    return RedirectResponse(f"{BASE}/{int(customer_id)}", status_code=303)


def _tier_error(page: ConsolePage, form: TierForm, invalid: ValidationError) -> TierForm:
    first = invalid.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "code"
    label = f"members.tier.{name}"
    form.error = page.t("members.invalid_field", field=page.t(label) if page.t.has(label) else name)
    return form


@router.post(BASE + "/tiers")
def tier_create(
    page: ManagePage, session: SessionDep, data: Annotated[TierForm, Form()]
) -> Response:
    try:
        body = TierIn(**tier_payload(data))
    except (ValidationError, ValueError) as invalid:
        form = data
        if isinstance(invalid, ValidationError):
            form = _tier_error(page, data, invalid)
        else:
            form.error = page.t("members.invalid_number")
        return _home(page, session, form=form, status=422)
    outcome = attempt(session, lambda: tiers.create(session, page.principal, body))
    if isinstance(outcome, SiyuError):
        data.error = error_message(page.t, outcome)
        return _home(page, session, form=data, status=outcome.status)
    return RedirectResponse(f"{BASE}?done=created", status_code=303)


def _tier_page(
    page: ConsolePage, tier: MemberTier, form: TierForm, status: int = 200
) -> HTMLResponse:
    return page.render(
        "members/tier_edit.html",
        active=ACTIVE,
        status=status,
        tier=tier,
        form=form,
        fields=TIER_FIELDS,
    )


@router.get(BASE + "/tiers/{tier_id:int}")
def tier_edit(tier_id: int, page: ManagePage, session: SessionDep) -> HTMLResponse:
    tier = tiers.get(session, tier_id)
    return _tier_page(page, tier, tier_form_values(tier))


@router.post(BASE + "/tiers/{tier_id:int}")
def tier_update(
    tier_id: int, page: ManagePage, session: SessionDep, data: Annotated[TierForm, Form()]
) -> Response:
    tier = tiers.get(session, tier_id)
    try:
        body = TierUpdate(**tier_payload(data))
    except (ValidationError, ValueError) as invalid:
        form = data
        if isinstance(invalid, ValidationError):
            form = _tier_error(page, data, invalid)
        else:
            form.error = page.t("members.invalid_number")
        return _tier_page(page, tier, form, 422)
    outcome = attempt(session, lambda: tiers.update(session, page.principal, tier_id, body))
    if isinstance(outcome, SiyuError):
        session.refresh(tier)
        data.error = error_message(page.t, outcome)
        return _tier_page(page, tier, data, outcome.status)
    return RedirectResponse(f"{BASE}?done=saved", status_code=303)


@router.post(BASE + "/tiers/{tier_id:int}/delete")
def tier_delete(tier_id: int, page: ManagePage, session: SessionDep) -> Response:
    outcome = attempt(session, lambda: tiers.delete(session, page.principal, tier_id))
    if isinstance(outcome, SiyuError):
        return _home(page, session, error=error_message(page.t, outcome), status=outcome.status)
    return RedirectResponse(f"{BASE}?done=deleted", status_code=303)


def _program_page(
    page: ConsolePage,
    values: dict[str, Any],
    *,
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "members/program.html",
        active=ACTIVE,
        status=status,
        values=values,
        flash=flash,
        error=error,
    )


@router.get(BASE + "/program")
def program_page(page: ManagePage, session: SessionDep, done: str = "") -> HTMLResponse:
    values = program_form_values(program.current(session))
    return _program_page(page, values, flash=_flash(page, done))


@router.post(BASE + "/program")
def program_save(
    page: ManagePage, session: SessionDep, data: Annotated[ProgramForm, Form()]
) -> Response:
    try:
        config = program.validate(program_document(data))
    except ValueError:
        return _program_page(
            page, data.model_dump(), error=page.t("members.invalid_number"), status=422
        )
    except SiyuError as invalid:
        fields = ", ".join(
            ".".join(str(part) for part in error["loc"]) for error in invalid.data["errors"]
        )
        return _program_page(
            page,
            data.model_dump(),
            error=page.t("members.program_invalid", fields=fields),
            status=invalid.status,
        )
    program.save(session, page.principal, config)
    return RedirectResponse(f"{BASE}/program?done=program", status_code=303)


@router.get(BASE + "/audit")
def audit_page(page: ManagePage, session: SessionDep) -> HTMLResponse:
    return page.render("members/audit.html", active=ACTIVE, report=audit.run(session))


def _card(
    page: ConsolePage,
    session: Session,
    customer_id: int,
    *,
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    summary = reads.summary(session, customer_id, changes=20)
    ledger, _cursor = reads.ledger_page(session, customer_id, limit=50, cursor=None)
    return page.render(
        "members/card.html",
        active=ACTIVE,
        status=status,
        customer_id=customer_id,
        summary=summary,
        ledger=ledger,
        tiers=memberships.ladder(session),
        tier_names={tier.id: tier.name for tier in memberships.ladder(session)},
        tasks=growth.TASKS,
        may_adjust=page.may(Permission.POINTS_ADJUST),
        flash=flash,
        error=error,
    )


@router.get(BASE + "/{customer_id:int}")
def member_card(
    customer_id: int, page: ManagePage, session: SessionDep, done: str = ""
) -> Response:
    visible_or_404(session, page.principal, customer_id)
    return _card(page, session, customer_id, flash=_flash(page, done))


@router.post(BASE + "/{customer_id:int}/adjust")
def member_adjust(
    customer_id: int,
    page: ManagePage,
    session: SessionDep,
    amount: Annotated[str, Form(max_length=12)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    page.require(Permission.POINTS_ADJUST)
    visible_or_404(session, page.principal, customer_id)
    try:
        value = int(amount.strip())
    except ValueError:
        return _card(page, session, customer_id, error=page.t("members.invalid_number"), status=422)
    outcome = attempt(
        session,
        lambda: points_service.adjust(session, page.principal, customer_id, value, reason=reason),
    )
    if isinstance(outcome, SiyuError):
        return _card(
            page, session, customer_id, error=error_message(page.t, outcome), status=outcome.status
        )
    return RedirectResponse(f"{BASE}/{customer_id}?done=adjusted", status_code=303)


@router.post(BASE + "/{customer_id:int}/tier")
def member_set_tier(
    customer_id: int,
    page: ManagePage,
    session: SessionDep,
    tier_id: Annotated[int, Form()],
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    visible_or_404(session, page.principal, customer_id)
    outcome = attempt(
        session,
        lambda: tier_changes.set_tier(session, page.principal, customer_id, tier_id, reason=reason),
    )
    if isinstance(outcome, SiyuError):
        return _card(
            page, session, customer_id, error=error_message(page.t, outcome), status=outcome.status
        )
    return RedirectResponse(f"{BASE}/{customer_id}?done=tier_set", status_code=303)


class TaskForm(BaseModel):
    task: str = ""


@router.post(BASE + "/{customer_id:int}/growth-task")
def member_growth_task(
    customer_id: int, page: ManagePage, session: SessionDep, data: Annotated[TaskForm, Form()]
) -> Response:
    visible_or_404(session, page.principal, customer_id)
    outcome = attempt(
        session,
        lambda: growth.complete_task(
            session, customer_id, data.task, actor=page.principal.username
        ),
    )
    if isinstance(outcome, SiyuError):
        return _card(
            page, session, customer_id, error=error_message(page.t, outcome), status=outcome.status
        )
    return RedirectResponse(f"{BASE}/{customer_id}?done=task", status_code=303)
