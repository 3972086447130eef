"""Console pages for channel codes (渠道活码): list with stats, create, QR, poster.

Reads need ``customers.read``; every write needs ``campaigns.manage`` and goes through
``siyu.campaigns.channel_codes.service`` (rules and audit rows live there). Forms
post and redirect, so the pages work without JavaScript.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from siyu.campaigns.channel_codes import errors, poster
from siyu.campaigns.channel_codes import service as code_service
from siyu.campaigns.channel_codes.schemas import ChannelCodeCreate, ChannelCodeUpdate, PosterLayout
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.channel_code import ChannelCode, ChannelCodeKind
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()

ReadPage = Annotated[ConsolePage, Depends(page_requiring(Permission.CUSTOMERS_READ))]
ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.CAMPAIGNS_MANAGE))]
LIST_PATH = "/console/channel-codes"
ACTIVE = "channel-codes"
KINDS = [kind.value for kind in ChannelCodeKind]
TOUCHPOINTS = ["h5", "mp", "oa", "wecom", "offline", "video_channel", "xiaohongshu", "douyin"]
_TAG_SPLIT = re.compile(r"[,，\n]+")


@dataclass
class CreateForm:
    name: str = ""
    kind: str = ChannelCodeKind.STORE_POSTER.value
    touchpoint: str = "h5"
    target_url: str = ""
    guide_id: str = ""
    tags: str = ""
    code: str = ""
    error: str | None = None
    error_field: str | None = None
    fields: list[str] = field(default_factory=list)


def _list_page(
    page: ConsolePage, session: Session, *, form: CreateForm | None = None, status: int = 200
) -> HTMLResponse:
    codes = code_service.list_codes(session)
    return page.render(
        "channel_codes.html",
        active=ACTIVE,
        status=status,
        codes=codes,
        stats=code_service.stats(session, [code.id for code in codes]),
        form=form or CreateForm(),
        kinds=KINDS,
        touchpoints=TOUCHPOINTS,
        guides=code_service.guides(session),
        guide_names={
            staff_id: staff.display_name or staff.username
            for staff_id, staff in code_service.guides_by_id(
                session, [code.guide_id for code in codes]
            ).items()
        },
        may_manage=page.may(Permission.CAMPAIGNS_MANAGE),
    )


@router.get(LIST_PATH)
def channel_codes_list(page: ReadPage, session: SessionDep) -> HTMLResponse:
    return _list_page(page, session)


def _field_of(error: SiyuError) -> str | None:
    value = error.data.get("field")
    return value if isinstance(value, str) else None


@router.post(LIST_PATH)
def channel_codes_create(
    page: ManagePage,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=32)] = "",
    touchpoint: Annotated[str, Form(max_length=32)] = "h5",
    target_url: Annotated[str, Form(max_length=600)] = "",
    guide_id: Annotated[str, Form(max_length=20)] = "",
    tags: Annotated[str, Form(max_length=2000)] = "",
    code: Annotated[str, Form(max_length=60)] = "",
) -> Response:
    form = CreateForm(name, kind, touchpoint, target_url, guide_id, tags, code)
    try:
        data = ChannelCodeCreate(
            name=name.strip(),
            kind=kind,  # pydantic checks it against the enum
            touchpoint=touchpoint.strip() or "h5",
            target_url=target_url.strip(),
            code=code.strip() or None,
            guide_id=int(guide_id) if guide_id.strip().isdigit() else None,
            tag_names=[entry for entry in _TAG_SPLIT.split(tags) if entry.strip()],
        )
    except ValidationError as invalid:
        first = invalid.errors()[0]
        form.error_field = str(first["loc"][0]) if first["loc"] else None
        label = f"channel_codes.{form.error_field}"
        shown = page.t(label) if page.t.has(label) else form.error_field or ""
        form.error = page.t("channel_codes.invalid_field", field=shown)
        return _list_page(page, session, form=form, status=422)
    outcome = attempt(session, lambda: code_service.create_code(session, page.principal, data))
    if isinstance(outcome, SiyuError):
        form.error = error_message(page.t, outcome)
        form.error_field = _field_of(outcome)
        return _list_page(page, session, form=form, status=outcome.status)
    return RedirectResponse(f"{LIST_PATH}/{outcome.id}?created=1", status_code=303)


def _detail_page(
    page: ConsolePage,
    session: Session,
    code: ChannelCode,
    *,
    flash: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "channel_code_detail.html",
        active=ACTIVE,
        status=status,
        code=code,
        stats=code_service.stats(session, [code.id])[code.id],
        short_url=code_service.short_url(str(page.request.base_url), code.code),
        layout=code_service.poster_layout(code),
        has_background=bool((code.poster or {}).get("background")),
        has_cjk_font=poster.has_cjk_font(),
        guide=code_service.guides_by_id(session, [code.guide_id]).get(code.guide_id or 0),
        flash=flash,
        may_manage=page.may(Permission.CAMPAIGNS_MANAGE),
    )


@router.get(LIST_PATH + "/{code_id}")
def channel_code_detail(
    code_id: int, page: ReadPage, session: SessionDep, created: int = 0, saved: int = 0
) -> HTMLResponse:
    code = code_service.get_code(session, code_id)
    flash = None
    if created:
        flash = ("success", page.t("channel_codes.created", code=code.code))
    elif saved:
        flash = ("success", page.t("channel_codes.saved"))
    return _detail_page(page, session, code, flash=flash)


@router.post(LIST_PATH + "/{code_id}/poster")
def channel_code_poster(
    code_id: int,
    page: ManagePage,
    session: SessionDep,
    caption: Annotated[str, Form(max_length=200)] = "",
    qr_x: Annotated[float, Form(ge=0, le=1)] = 0.5,
    qr_y: Annotated[float, Form(ge=0, le=1)] = 0.55,
    qr_size: Annotated[float, Form(ge=0.1, le=0.9)] = 0.4,
    image: Annotated[UploadFile | None, File()] = None,
) -> Response:
    code = code_service.get_code(session, code_id)
    settings = page.request.app.state.settings

    def save() -> ChannelCode:
        if image is not None and image.filename:
            data = image.file.read(poster.MAX_UPLOAD_BYTES + 1)
            extension = poster.validate_upload(data)
            relative = poster.store_background(settings.data_dir, code.id, data, extension)
            code_service.set_poster_background(session, page.principal, code, relative)
        try:
            layout = PosterLayout(caption=caption.strip(), qr_x=qr_x, qr_y=qr_y, qr_size=qr_size)
        except ValidationError as invalid:
            raise errors.InvalidChannelCode(data={"field": "caption"}) from invalid
        return code_service.update_code(
            session, page.principal, code.id, ChannelCodeUpdate(poster=layout)
        )

    outcome = attempt(session, save)
    if isinstance(outcome, SiyuError):
        session.refresh(code)
        flash = ("error", error_message(page.t, outcome))
        return _detail_page(page, session, code, flash=flash, status=outcome.status)
    return RedirectResponse(f"{LIST_PATH}/{code.id}?saved=1", status_code=303)


def _set_active(page: ConsolePage, session: Session, code_id: int, *, active: bool) -> Response:
    outcome = attempt(
        session, lambda: code_service.set_active(session, page.principal, code_id, active=active)
    )
    if isinstance(outcome, SiyuError):
        code = code_service.get_code(session, code_id)
        flash = ("error", error_message(page.t, outcome))
        return _detail_page(page, session, code, flash=flash, status=outcome.status)
    return RedirectResponse(f"{LIST_PATH}/{code_id}?saved=1", status_code=303)


@router.post(LIST_PATH + "/{code_id}/deactivate")
def channel_code_deactivate(code_id: int, page: ManagePage, session: SessionDep) -> Response:
    return _set_active(page, session, code_id, active=False)


@router.post(LIST_PATH + "/{code_id}/activate")
def channel_code_activate(code_id: int, page: ManagePage, session: SessionDep) -> Response:
    return _set_active(page, session, code_id, active=True)
