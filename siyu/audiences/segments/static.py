"""Static lists: a CSV of customer ids uploaded into a segment.

The file is one id per line or a ``customer_id`` column (the coupon grant's format).
Each bad row is reported with its row number and the rest is imported: ``invalid_id``
(not a positive integer), ``unknown`` (no such customer), ``erased``, ``merged``
(imported as the survivor it resolves to) and ``duplicate``. An empty, oversized or
non-UTF-8 file is refused whole with a 4xx and changes nothing.

``replace`` (the default) makes the list exactly the file's customers; ``append``
adds them to the current members. Either way the changes are diffed and announced
like a rule refresh (``segment.entered`` / ``segment.exited``).
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences.segments import service
from siyu.audiences.segments.errors import (
    SegmentArchived,
    StaticFileEmpty,
    StaticFileTooLarge,
    StaticFileUnreadable,
    WrongSegmentKind,
)
from siyu.audiences.segments.membership import stored_members
from siyu.audiences.segments.schemas import UploadOut, UploadProblem
from siyu.audiences.tags import bulk
from siyu.core import clock
from siyu.models.audience import SegmentKind, SegmentStatus
from siyu.models.customer import Customer, CustomerStatus
from siyu.staff import audit
from siyu.staff.principal import Principal

MAX_ROWS = 1_000_000
MAX_BYTES = 32 * 1024 * 1024
MAX_PROBLEMS = 1000
MAX_ID = 2**63 - 1


def decode(raw: bytes) -> str:
    if len(raw) > MAX_BYTES:
        raise StaticFileTooLarge(
            "The file is too large.", data={"bytes": len(raw), "max_bytes": MAX_BYTES}
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise StaticFileUnreadable(data={"byte": error.start}) from error
    if "\x00" in text:
        # A binary file (a spreadsheet saved as .xlsx) decodes as UTF-8 surprisingly often.
        raise StaticFileUnreadable()
    return text


def parse(text: str) -> list[tuple[int, str]]:
    """(row number, raw value) of each non-blank row, the header excluded."""
    try:
        rows = [
            (number, row)
            for number, row in enumerate(csv.reader(io.StringIO(text.lstrip("\ufeff"))), 1)
            if any(cell.strip() for cell in row)
        ]
    except csv.Error as error:
        raise StaticFileUnreadable(str(error)) from error
    if not rows:
        raise StaticFileEmpty()
    header = [cell.strip().lower() for cell in rows[0][1]]
    column = 0
    if "customer_id" in header:
        column = header.index("customer_id")
        rows = rows[1:]
    if not rows:
        raise StaticFileEmpty()
    if len(rows) > MAX_ROWS:
        raise StaticFileTooLarge(data={"rows": len(rows), "max_rows": MAX_ROWS})
    return [(number, row[column].strip() if column < len(row) else "") for number, row in rows]


def _statuses(session: Session, ids: list[int]) -> dict[int, tuple[str, int | None]]:
    found: dict[int, tuple[str, int | None]] = {}
    for chunk in bulk.chunks(np.asarray(sorted(ids), dtype=np.int64)):
        for row in session.execute(
            select(Customer.id, Customer.status, Customer.merged_into_id).where(
                Customer.id.in_(chunk)
            )
        ):
            found[int(row.id)] = (str(row.status), row.merged_into_id)
    return found


def upload(
    session: Session, actor: Principal, segment_id: int, raw: bytes, *, append: bool = False
) -> UploadOut:
    segment = service.get(session, segment_id)
    if segment.kind != SegmentKind.STATIC:
        raise WrongSegmentKind(data={"segment_id": segment_id, "kind": segment.kind})
    if segment.status == SegmentStatus.ARCHIVED:
        raise SegmentArchived(data={"segment_id": segment_id})
    started = time.perf_counter()
    values = parse(decode(raw))
    wanted = [int(raw) for _n, raw in values if raw.isdigit() and 0 < int(raw) <= MAX_ID]
    statuses = _statuses(session, wanted)
    problems: list[UploadProblem] = []
    counts: Counter[str] = Counter()
    imported: set[int] = set()

    def problem(number: int, value: str, code: str, survivor: int | None = None) -> None:
        counts[code] += 1
        if len(problems) < MAX_PROBLEMS:
            problems.append(UploadProblem(row=number, value=value, code=code, survivor_id=survivor))

    for number, value in values:
        if not (value.isdigit() and 0 < int(value) <= MAX_ID):
            problem(number, value, "invalid_id")
            continue
        status = statuses.get(int(value))
        if status is None:
            problem(number, value, "unknown")
            continue
        customer_id = int(value)
        if status[0] == CustomerStatus.ERASED:
            problem(number, value, "erased")
            continue
        if status[0] == CustomerStatus.MERGED and status[1] is not None:
            # Merges keep chains one hop long, so the survivor is live.
            customer_id = int(status[1])
            problem(number, value, "merged", customer_id)
        if customer_id in imported:
            problem(number, value, "duplicate")
            continue
        imported.add(customer_id)
    now = clock.now()
    target = bulk.to_ids(sorted(imported))
    if append:
        target = np.union1d(target, stored_members(session, segment.id))
    result = service.record_membership(session, segment, target, now=now, started=started)
    segment.refreshed_at = now
    audit.record(
        session,
        actor,
        "segment.upload",
        target_type="segment",
        target_id=segment.id,
        detail={"rows": len(values), "imported": len(imported), "append": append},
    )
    return UploadOut(
        segment_id=segment.id,
        rows=len(values),
        imported=len(imported),
        entered=result.entered,
        exited=result.exited,
        member_count=result.member_count,
        problems=problems,
        problems_truncated=sum(counts.values()) > len(problems),
        problem_counts=dict(counts),
    )
