"""Id arrays of bulk membership changes: reading them off the driver, deduplicating."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences.tags import bulk
from siyu.models.customer import Customer
from tests.audiences.segments_helpers import make_customers


@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=200))
def test_sorted_unique_equals_numpy_unique(values: list[int]) -> None:
    array = np.asarray(values, dtype=np.int64)
    assert bulk.sorted_unique(array.copy()).tolist() == np.unique(array).tolist()


@pytest.mark.parametrize("values", [[], [7], [1, 2, 3]])
def test_sorted_unique_returns_an_increasing_array_as_is(values: list[int]) -> None:
    array = np.asarray(values, dtype=np.int64)
    assert bulk.sorted_unique(array) is array


def test_read_ids_reads_the_column_sorted_without_nulls(session: Session) -> None:
    ids = make_customers(session, 3)
    statement = select(Customer.id).where(Customer.id.in_(ids)).order_by(Customer.id.desc())
    read = bulk.read_ids(session, statement)
    assert read.dtype == np.int64
    assert read.tolist() == sorted(ids)
    guides = bulk.read_ids(session, select(Customer.guide_id).where(Customer.id.in_(ids)))
    assert guides.tolist() == []
    # Restricted reads: a few IN lists, the same answer as a whole read.
    restrict = np.asarray(sorted(ids)[:2], dtype=np.int64)
    held = bulk.stored_ids(session, Customer.id, Customer.id.in_(ids), restrict)
    assert held.tolist() == sorted(ids)[:2]
