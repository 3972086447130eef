"""Time-ordered event ids: valid version-7 UUIDs, increasing within a process."""

from __future__ import annotations

import uuid
from itertools import islice

import pytest

from siyu.core import event_ids


def test_ids_are_version_7_uuids_with_the_time_in_front() -> None:
    before = event_ids.time.time_ns() // 1_000_000
    made = uuid.UUID(event_ids.new_event_id())
    assert made.version == 7
    assert made.variant == uuid.RFC_4122
    assert made.int >> 80 >= before


def test_single_and_bulk_ids_only_ever_increase() -> None:
    made = [event_ids.new_event_id()]
    made += list(islice(event_ids.event_id_stream(), 10_000))
    made.append(event_ids.new_event_id())
    made += list(islice(event_ids.event_id_stream(), 5))
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_a_clock_going_back_does_not_make_ids_go_back(monkeypatch: pytest.MonkeyPatch) -> None:
    first = event_ids.new_event_id()
    monkeypatch.setattr(event_ids.time, "time_ns", lambda: 1_000_000_000)  # 1970
    later = [event_ids.new_event_id() for _ in range(5_000)]  # past one ms of counter
    assert [first, *later] == sorted([first, *later])
    assert len(set(later)) == len(later)
