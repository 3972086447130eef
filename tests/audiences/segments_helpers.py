"""Helpers of the tag and segment tests: customers, history and outbox reads."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.models.audience import CustomerTagHistory, Segment, SegmentChange, SegmentMember
from siyu.models.customer import Customer, CustomerStatus, CustomerTag
from siyu.models.outbox import OutboxEvent


def make_customers(
    session: Session, count: int, *, guide_id: int | None = None, store_id: int | None = None
) -> list[int]:
    now = clock.now()
    rows = [
        Customer(
            name=f"顾客{index}",
            guide_id=guide_id,
            store_id=store_id,
            consent={},
            created_at=now,
            updated_at=now,
        )
        for index in range(count)
    ]
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def merge_into(session: Session, merged_id: int, survivor_id: int) -> None:
    customer = session.get(Customer, merged_id)
    assert customer is not None
    customer.status = CustomerStatus.MERGED
    customer.merged_into_id = survivor_id
    session.flush()


def holders(session: Session, tag_id: int) -> list[int]:
    return sorted(
        session.scalars(select(CustomerTag.customer_id).where(CustomerTag.tag_id == tag_id))
    )


def history(session: Session, **filters: Any) -> list[tuple[int, int, str, str]]:
    statement = select(
        CustomerTagHistory.customer_id,
        CustomerTagHistory.tag_id,
        CustomerTagHistory.action,
        CustomerTagHistory.source,
    ).order_by(CustomerTagHistory.id)
    for name, value in filters.items():
        statement = statement.where(getattr(CustomerTagHistory, name) == value)
    return [tuple(row) for row in session.execute(statement)]  # type: ignore[misc]


def members(session: Session, segment_id: int) -> list[int]:
    return sorted(
        session.scalars(
            select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment_id)
        )
    )


def changes(session: Session, segment_id: int) -> list[tuple[int, str]]:
    return [
        (row.customer_id, row.change)
        for row in session.execute(
            select(SegmentChange.customer_id, SegmentChange.change)
            .where(SegmentChange.segment_id == segment_id)
            .order_by(SegmentChange.id)
        )
    ]


def segment_events(session: Session, name: str, segment_id: int) -> list[int]:
    payloads = session.scalars(select(OutboxEvent.payload).where(OutboxEvent.name == name))
    return sorted(p["customer_id"] for p in payloads if p["segment_id"] == segment_id)


def count(session: Session, model: type[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def make_segment(session: Session, *, kind: str = "static", rule: Any = None) -> Segment:
    segment = Segment(
        name=f"人群{count(session, Segment) + 1}",
        kind=kind,
        rule=rule,
        refresh_minutes=None,
        member_count=0,
        created_by="test",
    )
    session.add(segment)
    session.flush()
    return segment
