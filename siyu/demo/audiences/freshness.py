"""Freshness: how long from a tracked event to the customer being in a segment.

The path is production's: the events go through the tracking service and commit
(as ``POST /api/v1/track`` does), then the ``warehouse.sync`` job's work runs — the
incremental export (``siyu.warehouse.export.sync``) and the after-sync hooks, where
the audiences' incremental refresh (``siyu.audiences.tasks.after_sync``) recomputes
the touched customers' traits, rule tags and segments. Measured from before the
ingest to after the refresh's commit; the job's own wait for its next slot
(``warehouse_sync_seconds``, 60 s by default) comes on top (docs/demo.md).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import transaction
from siyu.demo.audiences import behaviour
from siyu.demo.audiences.people import DemoPeople
from siyu.models.audience import SegmentMember
from siyu.warehouse import export, hooks
from siyu.warehouse.engine import Warehouse


@dataclass(frozen=True)
class Freshness:
    customer_id: int
    seconds: float  # tracked → in the segment (ingest, export, incremental refresh)
    ingest_seconds: float
    sync_seconds: float
    refresh_seconds: float
    in_segment: bool


def _probe_customer(session: Session, people: DemoPeople, segment_id: int) -> int | None:
    members = set(
        session.scalars(
            select(SegmentMember.customer_id).where(SegmentMember.segment_id == segment_id)
        )
    )
    for customer_id in reversed(people.customer_ids):
        if (
            customer_id in people.unionids
            and customer_id not in members
            and customer_id not in people.recent_buyers
        ):
            return customer_id
    return None


def measure(
    factory: sessionmaker[Session],
    engine: Engine,
    wh: Warehouse,
    cipher: PiiCipher,
    people: DemoPeople,
    rng: random.Random,
    *,
    segment_id: int,
) -> Freshness | None:
    """Track three 口红 views for a customer outside the lipstick lookers and time
    until the customer is a member. None when the brand has no such customer."""
    with factory() as session:
        customer_id = _probe_customer(session, people, segment_id)
    if customer_id is None or not people.lipstick_products:
        return None
    now = clock.now()
    views = behaviour.lipstick_views(
        rng,
        people.unionids[customer_id],
        people.lipstick_products,
        [now - timedelta(minutes=minutes) for minutes in (3, 2, 1)],
    )
    started = time.perf_counter()
    with transaction(factory) as session:
        behaviour.ingest_all(session, cipher, views)
    ingested = time.perf_counter()
    result = export.sync(engine, wh, now=clock.now())
    synced = time.perf_counter()
    with transaction(factory) as session:
        hooks.run_after_sync(session, wh, result)
    refreshed = time.perf_counter()
    with factory() as session:
        member = session.get(SegmentMember, (segment_id, customer_id)) is not None
    return Freshness(
        customer_id=customer_id,
        seconds=refreshed - started,
        ingest_seconds=ingested - started,
        sync_seconds=synced - ingested,
        refresh_seconds=refreshed - synced,
        in_segment=member,
    )
