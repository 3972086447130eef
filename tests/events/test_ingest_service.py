"""The ingest service on both databases: which events of a batch are new."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core.clock import FrozenClock
from siyu.events import service
from siyu.models.tracking import TrackedEvent
from tests.customers.factories import make_cipher as cipher
from tests.events.factories import make_event


def test_a_batch_mixing_stored_and_new_events_stores_and_reports_only_the_new(
    session: Session, frozen_clock: FrozenClock
) -> None:
    """A repeat of an event stored by an earlier batch is a duplicate: it is not
    stored again and its customer is not among those the batch touched."""
    old = make_event(event_id="stored-1", identities=[{"kind": "anonymous_id", "value": "a"}])
    first = service.ingest(session, cipher(), [old], source="test")
    assert (first.accepted, first.duplicates) == (1, 0)
    new = make_event(event_id="new-1", identities=[{"kind": "anonymous_id", "value": "b"}])
    again = service.ingest(session, cipher(), [old, new, new], source="test")
    assert (again.accepted, again.duplicates) == (1, 2)
    stored_new = session.scalar(
        select(TrackedEvent.customer_id).where(TrackedEvent.event_id == "new-1")
    )
    assert again.customer_ids == [stored_new]
    assert stored_new not in first.customer_ids
    only_repeats = service.ingest(session, cipher(), [old, new], source="test")
    assert (only_repeats.accepted, only_repeats.duplicates, only_repeats.customer_ids) == (
        0,
        2,
        [],
    )
    assert session.scalar(select(func.count()).select_from(TrackedEvent)) == 2
