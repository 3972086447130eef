"""Channel-code API: /api/v1/channel-codes (staff) and the public short URL /c/{code}."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import Response

from siyu.campaigns.channel_codes import errors, poster, qr, wecom
from siyu.campaigns.channel_codes import service as code_service
from siyu.campaigns.channel_codes.schemas import (
    ChannelCodeCreate,
    ChannelCodeList,
    ChannelCodeOut,
    ChannelCodeStatsOut,
    ChannelCodeUpdate,
    WecomAddIn,
    WecomAddOut,
)
from siyu.core.http import PiiDep, SessionDep, SettingsDep
from siyu.models.channel_code import ChannelCode
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/channel-codes", tags=["channel codes"])

Reader = Annotated[Principal, Depends(require(Permission.CUSTOMERS_READ))]
Manager = Annotated[Principal, Depends(require(Permission.CAMPAIGNS_MANAGE))]
Writer = Annotated[Principal, Depends(require(Permission.CUSTOMERS_WRITE))]
IMAGE_CACHE = {"Cache-Control": "private, max-age=300", "X-Content-Type-Options": "nosniff"}


def base_url(request: Request) -> str:
    # The short URL uses the origin the operator reached siyu on (run uvicorn with
    # --proxy-headers behind a proxy so this is the public https origin).
    return str(request.base_url)


def code_out(
    request: Request, code: ChannelCode, stats: code_service.ChannelCodeStats | None = None
) -> ChannelCodeOut:
    prefix = f"/api/v1/channel-codes/{code.id}"
    return ChannelCodeOut(
        id=code.id,
        code=code.code,
        name=code.name,
        kind=code.kind,
        touchpoint=code.touchpoint,
        target_url=code.target_url,
        is_active=code.is_active,
        guide_id=code.guide_id,
        store_id=code.store_id,
        tag_names=list(code.tag_names or []),
        note=code.note,
        short_url=code_service.short_url(base_url(request), code.code),
        qr_url=f"{prefix}/qr.png",
        poster_url=f"{prefix}/poster.png",
        poster=code_service.poster_layout(code),
        has_poster_background=bool((code.poster or {}).get("background")),
        created_by=code.created_by,
        created_at=code.created_at,
        stats=None if stats is None else ChannelCodeStatsOut(**stats.__dict__),
    )


def aware(value: datetime | None, field: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise errors.InvalidChannelCode(
            "Give times with a UTC offset, e.g. 2026-11-22T00:00:00+08:00.", data={"field": field}
        )
    return value


Since = Annotated[datetime | None, Query(description="Count visits from (inclusive)")]
Until = Annotated[datetime | None, Query(description="Count visits until (exclusive)")]


@router.get("", response_model=ChannelCodeList)
def list_channel_codes(
    request: Request,
    session: SessionDep,
    _principal: Reader,
    since: Since = None,
    until: Until = None,
    include_inactive: bool = True,
) -> ChannelCodeList:
    codes = code_service.list_codes(session, include_inactive=include_inactive)
    counted = code_service.stats(
        session,
        [code.id for code in codes],
        since=aware(since, "since"),
        until=aware(until, "until"),
    )
    return ChannelCodeList(items=[code_out(request, code, counted[code.id]) for code in codes])


@router.post("", response_model=ChannelCodeOut, status_code=201)
def create_channel_code(
    request: Request, session: SessionDep, principal: Manager, body: ChannelCodeCreate
) -> ChannelCodeOut:
    code = code_service.create_code(session, principal, body)
    return code_out(request, code)


@router.post("/wecom-add", response_model=WecomAddOut)
def wecom_add(
    session: SessionDep, cipher: PiiDep, principal: Writer, body: WecomAddIn
) -> WecomAddOut:
    return wecom.record_add(session, cipher, principal, body)


@router.get("/{code_id}", response_model=ChannelCodeOut)
def get_channel_code(
    request: Request, code_id: int, session: SessionDep, _principal: Reader
) -> ChannelCodeOut:
    code = code_service.get_code(session, code_id)
    return code_out(request, code, code_service.stats(session, [code.id])[code.id])


@router.patch("/{code_id}", response_model=ChannelCodeOut)
def update_channel_code(
    request: Request, code_id: int, session: SessionDep, principal: Manager, body: ChannelCodeUpdate
) -> ChannelCodeOut:
    return code_out(request, code_service.update_code(session, principal, code_id, body))


@router.post("/{code_id}/deactivate", response_model=ChannelCodeOut)
def deactivate_channel_code(
    request: Request, code_id: int, session: SessionDep, principal: Manager
) -> ChannelCodeOut:
    return code_out(request, code_service.set_active(session, principal, code_id, active=False))


@router.post("/{code_id}/activate", response_model=ChannelCodeOut)
def activate_channel_code(
    request: Request, code_id: int, session: SessionDep, principal: Manager
) -> ChannelCodeOut:
    return code_out(request, code_service.set_active(session, principal, code_id, active=True))


@router.get("/{code_id}/stats", response_model=ChannelCodeStatsOut)
def channel_code_stats(
    code_id: int,
    session: SessionDep,
    _principal: Reader,
    since: Since = None,
    until: Until = None,
) -> ChannelCodeStatsOut:
    code = code_service.get_code(session, code_id)
    counted = code_service.stats(
        session, [code.id], since=aware(since, "since"), until=aware(until, "until")
    )[code.id]
    return ChannelCodeStatsOut(**counted.__dict__)


def _image(
    content: bytes, *, filename: str, download: bool, cache: str = IMAGE_CACHE["Cache-Control"]
) -> Response:
    headers = {**IMAGE_CACHE, "Cache-Control": cache}
    if download:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return Response(content, media_type="image/png", headers=headers)


@router.get("/{code_id}/qr.png", response_class=Response)
def channel_code_qr(
    request: Request,
    code_id: int,
    session: SessionDep,
    _principal: Reader,
    scale: Annotated[int, Query(ge=1, le=qr.MAX_SCALE)] = qr.DEFAULT_SCALE,
    download: bool = False,
) -> Response:
    code = code_service.get_code(session, code_id)
    url = code_service.short_url(base_url(request), code.code)
    return _image(
        qr.png(url, scale=scale), filename=f"channel-{code.code}-qr.png", download=download
    )


@router.post("/{code_id}/poster", response_model=ChannelCodeOut)
def upload_poster_background(
    request: Request,
    code_id: int,
    session: SessionDep,
    settings: SettingsDep,
    principal: Manager,
    image: Annotated[UploadFile, File(description="PNG or JPEG, at most 2 MB")],
) -> ChannelCodeOut:
    code = code_service.get_code(session, code_id)
    data = image.file.read(poster.MAX_UPLOAD_BYTES + 1)
    extension = poster.validate_upload(data)
    relative = poster.store_background(settings.data_dir, code.id, data, extension)
    return code_out(request, code_service.set_poster_background(session, principal, code, relative))


@router.get("/{code_id}/poster.png", response_class=Response)
def channel_code_poster(
    request: Request,
    code_id: int,
    session: SessionDep,
    settings: SettingsDep,
    _principal: Reader,
    download: bool = False,
) -> Response:
    code = code_service.get_code(session, code_id)
    content = poster.compose(
        url=code_service.short_url(base_url(request), code.code),
        layout=code_service.poster_layout(code),
        data_dir=settings.data_dir,
        background=(code.poster or {}).get("background"),
        title=code.name,
    )
    # The layout can change at any moment; a cached poster would show the old one.
    return _image(
        content,
        filename=f"channel-{code.code}-poster.png",
        download=download,
        cache="private, no-cache",
    )
