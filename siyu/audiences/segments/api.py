"""Segment API under /api/v1/audiences/segments.

Creating, changing, archiving, refreshing and uploading need ``audiences.manage``.
Reading a segment (its members, sizes, reach, the CSV export) needs
``customers.read`` and shows only the members the caller can see, masked unless they
hold ``customers.pii``: a guide sees their own customers in a brand-wide segment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from siyu.audiences.segments import reads, service, static
from siyu.audiences.segments.schemas import (
    MemberPage,
    ReachOut,
    SegmentIn,
    SegmentList,
    SegmentOut,
    SegmentRefreshOut,
    SegmentSizeOut,
    SegmentSizes,
    SegmentUpdate,
    UploadOut,
)
from siyu.core import clock
from siyu.core.http import PiiDep, SessionDep, SettingsDep, TransactionsDep
from siyu.core.pagination import DEFAULT_LIMIT, check_limit
from siyu.staff import audit
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/audiences/segments", tags=["audiences"])

Manager = Annotated[Principal, Depends(require(Permission.AUDIENCES_MANAGE))]
Reader = Annotated[Principal, Depends(require(Permission.CUSTOMERS_READ))]
SegmentId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get("", response_model=SegmentList)
def list_segments(
    session: SessionDep, _principal: Reader, include_archived: bool = False
) -> SegmentList:
    items = service.list_segments(session, include_archived=include_archived)
    return SegmentList(items=[SegmentOut.model_validate(item) for item in items])


@router.post("", response_model=SegmentOut, status_code=201)
def create_segment(body: SegmentIn, session: SessionDep, principal: Manager) -> SegmentOut:
    return SegmentOut.model_validate(service.create(session, principal, body))


@router.get("/{segment_id}", response_model=SegmentOut)
def get_segment(segment_id: SegmentId, session: SessionDep, _principal: Reader) -> SegmentOut:
    return SegmentOut.model_validate(service.get(session, segment_id))


@router.patch("/{segment_id}", response_model=SegmentOut)
def update_segment(
    segment_id: SegmentId, body: SegmentUpdate, session: SessionDep, principal: Manager
) -> SegmentOut:
    return SegmentOut.model_validate(service.update(session, principal, segment_id, body))


@router.post("/{segment_id}/archive", response_model=SegmentOut)
def archive_segment(segment_id: SegmentId, session: SessionDep, principal: Manager) -> SegmentOut:
    return SegmentOut.model_validate(service.archive(session, principal, segment_id))


@router.post("/{segment_id}/restore", response_model=SegmentOut)
def restore_segment(segment_id: SegmentId, session: SessionDep, principal: Manager) -> SegmentOut:
    return SegmentOut.model_validate(service.restore(session, principal, segment_id))


@router.post("/{segment_id}/refresh", response_model=SegmentRefreshOut)
def refresh_segment(
    segment_id: SegmentId, session: SessionDep, settings: SettingsDep, principal: Manager
) -> SegmentRefreshOut:
    """Re-evaluate the rule now; a failure is reported (``ok: false``, ``error``) and
    the segment keeps its last good members."""
    from siyu.warehouse.engine import Warehouse

    result = service.refresh(
        session, Warehouse.from_settings(settings), segment_id, now=clock.now()
    )
    audit.record(
        session,
        principal,
        "segment.refresh",
        target_type="segment",
        target_id=segment_id,
        detail={"ok": result.ok, "entered": result.entered, "exited": result.exited},
    )
    return result


@router.get("/{segment_id}/members", response_model=MemberPage)
def segment_members(
    segment_id: SegmentId,
    session: SessionDep,
    principal: Reader,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = Query(None, max_length=100),
) -> MemberPage:
    check_limit(limit)
    service.get(session, segment_id)
    items, next_cursor = reads.members_page(
        session, principal, segment_id, limit=limit, cursor=cursor
    )
    return MemberPage(segment_id=segment_id, items=items, next_cursor=next_cursor)


@router.get("/{segment_id}/sizes", response_model=SegmentSizes)
def segment_sizes(segment_id: SegmentId, session: SessionDep, _principal: Reader) -> SegmentSizes:
    rows = service.sizes(session, segment_id)
    return SegmentSizes(
        segment_id=segment_id, items=[SegmentSizeOut.model_validate(row) for row in rows]
    )


@router.get("/{segment_id}/reach", response_model=ReachOut)
def segment_reach(segment_id: SegmentId, session: SessionDep, principal: Reader) -> ReachOut:
    service.get(session, segment_id)
    return reads.reach(session, principal, segment_id)


@router.get("/{segment_id}/export.csv")
def export_segment(
    segment_id: SegmentId,
    session: SessionDep,
    transactions: TransactionsDep,
    cipher: PiiDep,
    principal: Reader,
) -> StreamingResponse:
    segment = service.get(session, segment_id)
    audit.record(
        session,
        principal,
        "segment.export",
        target_type="segment",
        target_id=segment_id,
        detail={"pii": principal.has(Permission.CUSTOMERS_PII)},
    )

    def body() -> Iterator[str]:
        # The request's session is closed once the route returns; the stream reads in
        # its own transaction.
        with transactions() as own:
            yield from reads.export_rows(own, cipher, principal, segment_id)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="segment-{segment.id}.csv"'},
    )


@router.post("/{segment_id}/upload", response_model=UploadOut)
async def upload_static(
    segment_id: SegmentId,
    request: Request,
    session: SessionDep,
    principal: Manager,
    mode: str = Query("replace", pattern="^(replace|append)$"),
) -> UploadOut:
    """The body is a CSV (``text/csv``): one customer id per line, or a ``customer_id``
    column. Bad rows are reported with their row numbers; the rest is imported."""
    raw = await request.body()
    return await run_in_threadpool(
        static.upload, session, principal, segment_id, raw, append=mode == "append"
    )
