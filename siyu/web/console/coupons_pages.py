"""Console pages for coupons at /console/coupons.

Templates with live statistics (computed from the coupon rows on every load; the
list refreshes itself every 15 s with htmx), the create/edit form for every kind and
rule, a detail page with the rules summary, statistics, status actions, the share
link and the bulk grant (CSV upload), and the write-off page with a code box.
Templates and grants need ``coupons.manage``; the write-off page ``coupons.redeem``
(store staff and guides). Writes go through the services, which keep the rules and
write the audit rows; forms post and redirect, so the pages work without JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.core.settings import current as current_settings
from siyu.coupons import grants, presenters, templates, writeoff
from siyu.coupons.errors import InvalidGrant
from siyu.coupons.schemas import GrantOut, TemplateIn, TemplateUpdate
from siyu.models.coupon import CouponKind, CouponScope, CouponTemplate, ValidityKind
from siyu.models.location import Location, LocationKind
from siyu.staff.permissions import Permission
from siyu.staff.scope import ScopeKind, scope_for
from siyu.web.console.coupons_forms import API_TO_FORM, FormInvalid, TemplateForm, form_of, to_api
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.COUPONS_MANAGE))]
RedeemPage = Annotated[ConsolePage, Depends(page_requiring(Permission.COUPONS_REDEEM))]
BASE = "/console/coupons"
ACTIVE = "coupons"
DONE_KEYS = {"created", "saved", "activate", "pause", "end"}
MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _choices() -> dict[str, Any]:
    return {
        "kinds": [kind.value for kind in CouponKind],
        "scopes": [scope.value for scope in CouponScope],
        "validities": [validity.value for validity in ValidityKind],
        "channel_choices": ["mall", "store"],
    }


def _with_error(page: ConsolePage, form: TemplateForm, field_name: str) -> dict[str, Any]:
    field_name = API_TO_FORM.get(field_name, field_name)
    label = f"coupons.field.{field_name}"
    shown = page.t(label) if page.t.has(label) else field_name
    return {"error": page.t("coupons.invalid_field", field=shown), "error_field": field_name}


@router.get(BASE)
def coupons_list(page: ManagePage, session: SessionDep, done: str = "") -> HTMLResponse:
    items = presenters.templates_out(
        session, templates.list_templates(session), current_settings().tzinfo
    )
    return page.render(
        "coupons/list.html",
        active=ACTIVE,
        items=items,
        flash=page.t(f"coupons.done.{done}") if done in DONE_KEYS else None,
    )


@router.get(BASE + "/stats-table")
def coupons_stats_table(page: ManagePage, session: SessionDep) -> HTMLResponse:
    """The list's table alone, for the htmx refresh."""
    items = presenters.templates_out(
        session, templates.list_templates(session), current_settings().tzinfo
    )
    return page.render("coupons/_table.html", active=ACTIVE, items=items)


def _form_page(
    page: ConsolePage,
    form: TemplateForm,
    *,
    template: CouponTemplate | None = None,
    error: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "coupons/form.html",
        active=ACTIVE,
        status=status,
        form=form,
        tpl=template,
        error=(error or {}).get("error"),
        error_field=(error or {}).get("error_field"),
        **_choices(),
    )


@router.get(BASE + "/new")
def coupons_new(page: ManagePage) -> HTMLResponse:
    return _form_page(page, TemplateForm(channels=["mall", "store"]))


def _saved(
    page: ConsolePage,
    session: Session,
    form: TemplateForm,
    template: CouponTemplate | None,
) -> Response:
    try:
        data = to_api(form)
        if template is None:
            body: TemplateIn | TemplateUpdate = TemplateIn(**data)
        else:
            body = TemplateUpdate(**data)
    except FormInvalid as invalid:
        return _form_page(
            page,
            form,
            template=template,
            error=_with_error(page, form, invalid.field_name),
            status=422,
        )
    except ValidationError as invalid:
        location = invalid.errors()[0]["loc"]
        name = str(location[0]) if location else "name"
        return _form_page(
            page, form, template=template, error=_with_error(page, form, name), status=422
        )
    if isinstance(body, TemplateIn):
        outcome: CouponTemplate | SiyuError = attempt(
            session, lambda: templates.create(session, page.principal, body)
        )
    else:
        assert template is not None
        template_id = template.id
        outcome = attempt(
            session, lambda: templates.update(session, page.principal, template_id, body)
        )
    if isinstance(outcome, SiyuError):
        error = {"error": error_message(page.t, outcome)}
        field_name = outcome.data.get("field")
        if isinstance(field_name, str):
            error = {**_with_error(page, form, field_name), "error": error["error"]}
            error["error_field"] = API_TO_FORM.get(field_name, field_name)
        return _form_page(page, form, template=template, error=error, status=outcome.status)
    done = "created" if template is None else "saved"
    return RedirectResponse(f"{BASE}/{outcome.id}?done={done}", status_code=303)


@router.post(BASE)
def coupons_create(
    page: ManagePage, session: SessionDep, form: Annotated[TemplateForm, Form()]
) -> Response:
    return _saved(page, session, form, None)


def _stores(session: Session, page: ConsolePage) -> list[Location]:
    statement = select(Location).where(
        Location.kind == LocationKind.STORE, Location.is_active.is_(True)
    )
    if scope_for(page.principal).kind is not ScopeKind.ALL:
        statement = statement.where(Location.id == page.principal.store_id)
    return list(session.scalars(statement.order_by(Location.id)))


@router.get(BASE + "/write-off")
def write_off_page(page: RedeemPage, session: SessionDep) -> HTMLResponse:
    return page.render(
        "coupons/write_off.html", active=ACTIVE, stores=_stores(session, page), result=None
    )


@router.post(BASE + "/write-off")
def write_off_submit(
    page: RedeemPage,
    session: SessionDep,
    code: Annotated[str, Form(max_length=40)] = "",
    store_id: Annotated[str, Form(max_length=20)] = "",
) -> HTMLResponse:
    stores = _stores(session, page)
    values = {"code": code.strip(), "store_id": store_id}
    if not store_id.isdigit() or not code.strip():
        return page.render(
            "coupons/write_off.html",
            active=ACTIVE,
            status=422,
            stores=stores,
            result=None,
            values=values,
            error=page.t("coupons.write_off.missing"),
        )
    outcome = attempt(
        session, lambda: writeoff.write_off(session, page.principal, code, int(store_id))
    )
    if isinstance(outcome, SiyuError):
        return page.render(
            "coupons/write_off.html",
            active=ACTIVE,
            status=outcome.status,
            stores=stores,
            result=None,
            values=values,
            error=error_message(page.t, outcome),
        )
    coupon, template = outcome
    return page.render(
        "coupons/write_off.html",
        active=ACTIVE,
        stores=stores,
        values={"store_id": store_id},
        result={
            "code": coupon.code,
            "name": template.name,
            "kind": template.kind,
            "customer_id": coupon.customer_id,
            "rules": presenters.rule_lines(session, template, current_settings().tzinfo),
        },
    )


def _detail(
    page: ConsolePage,
    session: Session,
    template: CouponTemplate,
    *,
    flash: str | None = None,
    grant: GrantOut | None = None,
    grant_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    shown = presenters.template_out(session, template, current_settings().tzinfo)
    return page.render(
        "coupons/detail.html",
        active=ACTIVE,
        status=status,
        tpl=shown,
        form=form_of(template),
        flash=flash,
        grant=grant,
        grant_error=grant_error,
        link=f"/shop/coupons/link/{template.public_id}",
        actions=[
            action
            for action, (sources, _target) in templates.TRANSITIONS.items()
            if template.status in sources
        ],
        **_choices(),
    )


@router.get(BASE + "/{template_id}")
def coupons_detail(
    template_id: int, page: ManagePage, session: SessionDep, done: str = ""
) -> HTMLResponse:
    template = templates.get(session, template_id)
    flash = page.t(f"coupons.done.{done}") if done in DONE_KEYS else None
    return _detail(page, session, template, flash=flash)


@router.get(BASE + "/{template_id}/edit")
def coupons_edit(template_id: int, page: ManagePage, session: SessionDep) -> HTMLResponse:
    template = templates.get(session, template_id)
    return _form_page(page, form_of(template), template=template)


@router.post(BASE + "/{template_id}/edit")
def coupons_update(
    template_id: int,
    page: ManagePage,
    session: SessionDep,
    form: Annotated[TemplateForm, Form()],
) -> Response:
    return _saved(page, session, form, templates.get(session, template_id))


@router.post(BASE + "/{template_id}/status/{action}")
def coupons_transition(
    template_id: int, action: str, page: ManagePage, session: SessionDep
) -> Response:
    template = templates.get(session, template_id)
    if action not in templates.TRANSITIONS:
        return _detail(page, session, template, flash=page.t("coupons.unknown_action"), status=404)
    outcome = attempt(
        session, lambda: templates.transition(session, page.principal, template_id, action)
    )
    if isinstance(outcome, SiyuError):
        return _detail(
            page, session, template, flash=error_message(page.t, outcome), status=outcome.status
        )
    return RedirectResponse(f"{BASE}/{template_id}?done={action}", status_code=303)


@router.post(BASE + "/{template_id}/grant")
def coupons_grant(
    template_id: int,
    page: ManagePage,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
    ids: Annotated[str, Form(max_length=1_000_000)] = "",
) -> HTMLResponse:
    template = templates.get(session, template_id)
    text = ids
    if file is not None and file.filename:
        raw = file.file.read(MAX_UPLOAD_BYTES + 1)
        if len(raw) > MAX_UPLOAD_BYTES:
            return _detail(
                page, session, template, grant_error=page.t("coupons.grant.too_large"), status=413
            )
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            error = InvalidGrant("The file must be UTF-8 text.")
            return _detail(
                page, session, template, grant_error=error_message(page.t, error), status=422
            )
    outcome = attempt(session, lambda: grants.grant(session, page.principal, template_id, text))
    if isinstance(outcome, SiyuError):
        return _detail(
            page,
            session,
            template,
            grant_error=error_message(page.t, outcome),
            status=outcome.status,
        )
    return _detail(page, session, template, grant=outcome)
