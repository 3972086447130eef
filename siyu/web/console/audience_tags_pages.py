"""Console pages for tags at /console/audiences/tags: groups (exclusive or not), manual
and rule tags with their holder counts, a rule tag's editor with the rule builder,
and "refresh now" for a rule tag. Needs ``audiences.manage``; writes go through the
tag services and redirect back.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.audiences.tags import manage
from siyu.audiences.tags.schemas import TagGroupIn, TagGroupUpdate, TagIn, TagUpdate
from siyu.core import clock
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep, SettingsDep
from siyu.models.customer import Tag, TagKind
from siyu.staff.permissions import Permission
from siyu.web.console.audiences_pages import EMPTY_RULE, has_builder
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.AUDIENCES_MANAGE))]
BASE = "/console/audiences/tags"
ACTIVE = "audiences"
DONE_KEYS = {
    "group_created",
    "group_saved",
    "tag_created",
    "tag_saved",
    "tag_deleted",
    "tag_refreshed",
}
Short = Annotated[str, Form(max_length=200)]
Long = Annotated[str, Form(max_length=100_000)]


def _page(
    page: ConsolePage,
    session: Session,
    *,
    flash: str | None = None,
    error: str | None = None,
    values: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    tags = manage.list_tags(session)
    groups = manage.list_groups(session)
    known = {group.name for group in groups}
    # Tags may name a group that has no row yet (channel codes create "渠道" tags).
    extra = sorted({tag.group_name for tag in tags} - known)
    by_group: dict[str, list[Tag]] = {}
    for tag in tags:
        by_group.setdefault(tag.group_name, []).append(tag)
    return page.render(
        "audiences/tags.html",
        active=ACTIVE,
        tab="tags",
        status=status,
        groups=groups,
        extra_groups=extra,
        by_group=by_group,
        flash=flash,
        error=error,
        values=values or {"kind": "manual"},
        has_builder=has_builder(),
        rule_json=(values or {}).get("rule") or json.dumps(EMPTY_RULE, ensure_ascii=False),
        field_name="rule",
    )


@router.get(BASE)
def tags_page(page: ManagePage, session: SessionDep, done: str = "") -> HTMLResponse:
    flash = page.t(f"audiences.tags.done.{done}") if done in DONE_KEYS else None
    return _page(page, session, flash=flash)


@router.post(BASE + "/groups")
def group_create(
    page: ManagePage,
    session: SessionDep,
    name: Short = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    is_exclusive: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        body = TagGroupIn(name=name, description=description, is_exclusive=bool(is_exclusive))
    except ValidationError:
        return _page(page, session, error=page.t("audiences.form_invalid"), status=422)
    outcome = attempt(session, lambda: manage.create_group(session, page.principal, body))
    if isinstance(outcome, SiyuError):
        return _page(page, session, error=error_message(page.t, outcome), status=outcome.status)
    return RedirectResponse(f"{BASE}?done=group_created", status_code=303)


@router.post(BASE + "/groups/{group_id}")
def group_update(
    group_id: int,
    page: ManagePage,
    session: SessionDep,
    name: Short = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    is_exclusive: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    try:
        body = TagGroupUpdate(name=name, description=description, is_exclusive=bool(is_exclusive))
    except ValidationError:
        return _page(page, session, error=page.t("audiences.form_invalid"), status=422)
    outcome = attempt(session, lambda: manage.update_group(session, page.principal, group_id, body))
    if isinstance(outcome, SiyuError):
        return _page(page, session, error=error_message(page.t, outcome), status=outcome.status)
    return RedirectResponse(f"{BASE}?done=group_saved", status_code=303)


def _rule_of(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a rule is a JSON object")
    return value


@router.post(BASE)
def tag_create(
    page: ManagePage,
    session: SessionDep,
    group_name: Short = "",
    name: Short = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    kind: Annotated[str, Form(max_length=10)] = "manual",
    rule: Long = "",
) -> Response:
    values = {
        "group_name": group_name,
        "name": name,
        "description": description,
        "kind": kind,
        "rule": rule,
    }
    try:
        body = TagIn(
            group_name=group_name,
            name=name,
            description=description,
            rule=_rule_of(rule) if kind == TagKind.RULE else None,
        )
    except (ValidationError, ValueError):
        return _page(
            page, session, error=page.t("audiences.form_invalid"), values=values, status=422
        )
    outcome = attempt(session, lambda: manage.create_tag(session, page.principal, body))
    if isinstance(outcome, SiyuError):
        return _page(
            page,
            session,
            error=error_message(page.t, outcome),
            values=values,
            status=outcome.status,
        )
    return RedirectResponse(f"{BASE}?done=tag_created", status_code=303)


def _tag_page(
    page: ConsolePage,
    tag: Tag,
    *,
    rule: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "audiences/tag_form.html",
        active=ACTIVE,
        tab="tags",
        status=status,
        tag=tag,
        error=error,
        has_builder=has_builder(),
        rule_json=rule or json.dumps(tag.rule or EMPTY_RULE, ensure_ascii=False),
        field_name="rule",
    )


@router.get(BASE + "/{tag_id}")
def tag_edit(tag_id: int, page: ManagePage, session: SessionDep) -> HTMLResponse:
    return _tag_page(page, manage.get_tag(session, tag_id))


@router.post(BASE + "/{tag_id}")
def tag_update(
    tag_id: int,
    page: ManagePage,
    session: SessionDep,
    group_name: Short = "",
    name: Short = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    rule: Long = "",
) -> Response:
    tag = manage.get_tag(session, tag_id)
    try:
        fields: dict[str, Any] = {
            "group_name": group_name,
            "name": name,
            "description": description,
        }
        if tag.kind == TagKind.RULE:
            fields["rule"] = _rule_of(rule)
        body = TagUpdate(**fields)
    except (ValidationError, ValueError):
        return _tag_page(page, tag, rule=rule, error=page.t("audiences.form_invalid"), status=422)
    outcome = attempt(session, lambda: manage.update_tag(session, page.principal, tag_id, body))
    if isinstance(outcome, SiyuError):
        return _tag_page(
            page, tag, rule=rule, error=error_message(page.t, outcome), status=outcome.status
        )
    return RedirectResponse(f"{BASE}?done=tag_saved", status_code=303)


@router.post(BASE + "/{tag_id}/delete")
def tag_delete(tag_id: int, page: ManagePage, session: SessionDep) -> Response:
    manage.delete_tag(session, page.principal, tag_id)
    return RedirectResponse(f"{BASE}?done=tag_deleted", status_code=303)


@router.post(BASE + "/{tag_id}/refresh")
def tag_refresh(
    tag_id: int, page: ManagePage, session: SessionDep, settings: SettingsDep
) -> Response:
    from siyu.audiences import refresh
    from siyu.warehouse.engine import Warehouse

    tag = manage.get_tag(session, tag_id)
    outcome = attempt(
        session,
        lambda: refresh.refresh_rule_tag(
            session, Warehouse.from_settings(settings), tag, now=clock.now()
        ),
    )
    if isinstance(outcome, SiyuError):
        return _page(page, session, error=error_message(page.t, outcome), status=outcome.status)
    return RedirectResponse(f"{BASE}?done=tag_refreshed", status_code=303)
