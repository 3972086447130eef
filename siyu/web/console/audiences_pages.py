"""Console pages for segments (人群包) at /console/audiences.

The list with sizes and last refresh, the new/edit form with the rule builder
(helper R's partial) and a live count preview, and the detail page: size history
chart, reach per channel, sample members, CSV export, refresh now, and the upload
of a static list. Everything needs ``audiences.manage``; writes go through the
segment services (which keep the rules and write the audit rows) and redirect.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.audiences.segments import reads, service, static
from siyu.audiences.segments.schemas import SegmentIn, SegmentUpdate, UploadOut
from siyu.core import clock
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep, SettingsDep
from siyu.core.settings import current as current_settings
from siyu.models.audience import Segment, SegmentKind, SegmentStatus
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.AUDIENCES_MANAGE))]
BASE = "/console/audiences"
ACTIVE = "audiences"
TEMPLATES = Path(__file__).resolve().parent / "templates"
BUILDER = "audiences/rule_builder.html"
DONE_KEYS = {"created", "saved", "refreshed", "refresh_failed", "archived", "restored"}
MAX_UPLOAD_BYTES = static.MAX_BYTES
SAMPLE = 20
# What a new form starts from: customers who paid an order in the last 30 days.
EMPTY_RULE: dict[str, Any] = {
    "all": [{"event": "order", "count": {"op": ">=", "value": 1}, "window": {"days": 30}}]
}


def has_builder() -> bool:
    """Helper R's rule builder partial, when installed; a JSON box otherwise."""
    return (TEMPLATES / BUILDER).is_file()


def _rule_text(rule: dict[str, Any] | None) -> str:
    from siyu.audiences import rules

    if not rule:
        return ""
    try:
        return rules.describe(rules.parse(rule))
    except SiyuError:
        return json.dumps(rule, ensure_ascii=False)


@router.get(BASE)
def segments_list(
    page: ManagePage, session: SessionDep, done: str = "", archived: bool = False
) -> HTMLResponse:
    items = service.list_segments(session, include_archived=archived)
    return page.render(
        "audiences/segments.html",
        active=ACTIVE,
        tab="segments",
        items=items,
        archived=archived,
        flash=page.t(f"audiences.done.{done}") if done in DONE_KEYS else None,
    )


def _form_page(
    page: ConsolePage,
    *,
    values: dict[str, Any],
    segment: Segment | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "audiences/segment_form.html",
        active=ACTIVE,
        tab="segments",
        status=status,
        values=values,
        segment=segment,
        error=error,
        has_builder=has_builder(),
        rule_json=values.get("rule") or json.dumps(EMPTY_RULE, ensure_ascii=False),
        field_name="rule",
    )


@router.get(BASE + "/segments/new")
def segment_new(page: ManagePage) -> HTMLResponse:
    return _form_page(
        page,
        values={
            "kind": "rule",
            "refresh_minutes": "60",
            "rule": json.dumps(EMPTY_RULE, ensure_ascii=False),
        },
    )


def _parse_rule(text: str) -> dict[str, Any] | None:
    if not text.strip():
        return None
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("a rule is a JSON object")
    return value


Text = Annotated[str, Form(max_length=100_000)]


def _save(
    page: ConsolePage, session: Session, values: dict[str, str], segment: Segment | None
) -> Response:
    try:
        rule = _parse_rule(values["rule"]) if values.get("kind") != "static" else None
    except ValueError:
        return _form_page(
            page,
            values=values,
            segment=segment,
            error=page.t("audiences.rule_not_json"),
            status=422,
        )
    minutes = values.get("refresh_minutes", "").strip()
    try:
        if segment is None:
            body: SegmentIn | SegmentUpdate = SegmentIn(
                name=values["name"],
                description=values.get("description", ""),
                kind=SegmentKind(values.get("kind") or "rule"),
                rule=rule,
                refresh_minutes=int(minutes) if minutes else None,
            )
        else:
            fields: dict[str, Any] = {
                "name": values["name"],
                "description": values.get("description", ""),
                "refresh_minutes": int(minutes) if minutes else None,
            }
            if segment.kind == SegmentKind.RULE:
                fields["rule"] = rule
            body = SegmentUpdate(**fields)
    except (ValidationError, ValueError):
        return _form_page(
            page,
            values=values,
            segment=segment,
            error=page.t("audiences.form_invalid"),
            status=422,
        )
    if isinstance(body, SegmentIn):
        created = body
        outcome: Segment | SiyuError = attempt(
            session, lambda: service.create(session, page.principal, created)
        )
    else:
        assert segment is not None
        segment_id, changes = segment.id, body
        outcome = attempt(
            session, lambda: service.update(session, page.principal, segment_id, changes)
        )
    if isinstance(outcome, SiyuError):
        return _form_page(
            page,
            values=values,
            segment=segment,
            error=error_message(page.t, outcome),
            status=outcome.status,
        )
    done = "created" if segment is None else "saved"
    if segment is None and outcome.kind == SegmentKind.RULE:
        # A new rule segment is filled at once, so its detail page shows members.
        return RedirectResponse(f"{BASE}/segments/{outcome.id}/fill", status_code=303)
    return RedirectResponse(f"{BASE}/segments/{outcome.id}?done={done}", status_code=303)


@router.post(BASE + "/segments/new")
def segment_create(
    page: ManagePage,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    kind: Annotated[str, Form(max_length=16)] = "rule",
    refresh_minutes: Annotated[str, Form(max_length=8)] = "",
    rule: Text = "",
) -> Response:
    values = {
        "name": name,
        "description": description,
        "kind": kind,
        "refresh_minutes": refresh_minutes,
        "rule": rule,
    }
    return _save(page, session, values, None)


@router.post(BASE + "/segments/preview")
def segment_preview(
    page: ManagePage, session: SessionDep, settings: SettingsDep, rule: Text = ""
) -> HTMLResponse:
    """The live count under the form (htmx): how many would be in the segment now."""
    from siyu.audiences import rules
    from siyu.warehouse.engine import Warehouse

    result: dict[str, Any] = {}
    try:
        parsed = rules.parse(_parse_rule(rule) or EMPTY_RULE, session=session)
        preview = rules.preview(
            session,
            Warehouse.from_settings(settings),
            parsed,
            now=clock.now(),
            principal=page.principal,
            sample=0,
        )
        result = {"count": preview.count, "text": preview.text, "seconds": preview.seconds}
    except ValueError:
        result = {"error": page.t("audiences.rule_not_json")}
    except SiyuError as error:
        result = {"error": error_message(page.t, error)}
    return page.render("audiences/_preview.html", active=ACTIVE, preview=result)


def _detail(
    page: ConsolePage,
    session: Session,
    segment: Segment,
    *,
    flash: str | None = None,
    upload: UploadOut | None = None,
    upload_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    sizes = service.sizes(session, segment.id)
    tz = current_settings().tzinfo
    chart = {
        "labels": [row.at.astimezone(tz).strftime("%m-%d %H:%M") for row in sizes],
        "values": [row.size for row in sizes],
        "seriesName": page.t("audiences.detail.size"),
        "emptyText": page.t("audiences.detail.no_sizes"),
    }
    sample, _cursor = reads.members_page(
        session, page.principal, segment.id, limit=SAMPLE, cursor=None
    )
    return page.render(
        "audiences/segment_detail.html",
        active=ACTIVE,
        tab="segments",
        status=status,
        segment=segment,
        rule_text=_rule_text(segment.rule),
        chart=chart,
        sizes=sizes[-10:],
        reach=reads.reach(session, page.principal, segment.id),
        sample=sample,
        flash=flash,
        upload=upload,
        upload_error=upload_error,
        is_static=segment.kind == SegmentKind.STATIC,
        is_archived=segment.status == SegmentStatus.ARCHIVED,
    )


@router.get(BASE + "/segments/{segment_id}")
def segment_detail(
    segment_id: int, page: ManagePage, session: SessionDep, done: str = ""
) -> HTMLResponse:
    segment = service.get(session, segment_id)
    flash = page.t(f"audiences.done.{done}") if done in DONE_KEYS else None
    return _detail(page, session, segment, flash=flash)


@router.get(BASE + "/segments/{segment_id}/edit")
def segment_edit(segment_id: int, page: ManagePage, session: SessionDep) -> HTMLResponse:
    segment = service.get(session, segment_id)
    values = {
        "name": segment.name,
        "description": segment.description,
        "kind": segment.kind,
        "refresh_minutes": "" if segment.refresh_minutes is None else str(segment.refresh_minutes),
        "rule": json.dumps(segment.rule or EMPTY_RULE, ensure_ascii=False),
    }
    return _form_page(page, values=values, segment=segment)


@router.post(BASE + "/segments/{segment_id}/edit")
def segment_update(
    segment_id: int,
    page: ManagePage,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    refresh_minutes: Annotated[str, Form(max_length=8)] = "",
    rule: Text = "",
) -> Response:
    segment = service.get(session, segment_id)
    values = {
        "name": name,
        "description": description,
        "kind": segment.kind,
        "refresh_minutes": refresh_minutes,
        "rule": rule,
    }
    return _save(page, session, values, segment)


def _refresh(page: ConsolePage, session: Session, segment_id: int, settings: Any) -> str:
    from siyu.warehouse.engine import Warehouse

    outcome = attempt(
        session,
        lambda: service.refresh(
            session, Warehouse.from_settings(settings), segment_id, now=clock.now()
        ),
    )
    if isinstance(outcome, SiyuError) or not outcome.ok:
        return "refresh_failed"
    return "refreshed"


@router.get(BASE + "/segments/{segment_id}/fill")
def segment_fill(
    segment_id: int, page: ManagePage, session: SessionDep, settings: SettingsDep
) -> Response:
    """Right after creation: the first refresh, then the detail page."""
    service.get(session, segment_id)
    done = _refresh(page, session, segment_id, settings)
    return RedirectResponse(
        f"{BASE}/segments/{segment_id}?done={'created' if done == 'refreshed' else done}",
        status_code=303,
    )


@router.post(BASE + "/segments/{segment_id}/refresh")
def segment_refresh(
    segment_id: int, page: ManagePage, session: SessionDep, settings: SettingsDep
) -> Response:
    service.get(session, segment_id)
    done = _refresh(page, session, segment_id, settings)
    return RedirectResponse(f"{BASE}/segments/{segment_id}?done={done}", status_code=303)


@router.post(BASE + "/segments/{segment_id}/archive")
def segment_archive(segment_id: int, page: ManagePage, session: SessionDep) -> Response:
    service.archive(session, page.principal, segment_id)
    return RedirectResponse(f"{BASE}?done=archived", status_code=303)


@router.post(BASE + "/segments/{segment_id}/restore")
def segment_restore(segment_id: int, page: ManagePage, session: SessionDep) -> Response:
    service.restore(session, page.principal, segment_id)
    return RedirectResponse(f"{BASE}/segments/{segment_id}?done=restored", status_code=303)


@router.post(BASE + "/segments/{segment_id}/upload")
async def segment_upload(
    segment_id: int,
    page: ManagePage,
    session: SessionDep,
    file: Annotated[UploadFile | None, File()] = None,
    ids: Annotated[str, Form(max_length=2_000_000)] = "",
    mode: Annotated[str, Form(max_length=10)] = "replace",
) -> HTMLResponse:
    from starlette.concurrency import run_in_threadpool

    segment = service.get(session, segment_id)
    raw = await file.read(MAX_UPLOAD_BYTES + 1) if file is not None and file.filename else b""
    if not raw:
        raw = ids.encode()

    def run() -> UploadOut | SiyuError:
        return attempt(
            session,
            lambda: static.upload(
                session, page.principal, segment_id, raw, append=mode == "append"
            ),
        )

    outcome = await run_in_threadpool(run)
    if isinstance(outcome, SiyuError):
        return await run_in_threadpool(
            lambda: _detail(
                page,
                session,
                segment,
                upload_error=error_message(page.t, outcome),
                status=outcome.status,
            )
        )
    return await run_in_threadpool(lambda: _detail(page, session, segment, upload=outcome))
