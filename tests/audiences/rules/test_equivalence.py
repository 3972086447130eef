"""The compiled DuckDB SQL and the plain Python evaluator select exactly the same
customers, for random datasets × random rules (NULLs, window edges, count = 0,
nested not/any, restrict_to)."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from siyu.audiences import rules
from siyu.audiences.rules.evaluate import RuleDataset, evaluate
from siyu.audiences.rules.loader import register_dataset
from tests.audiences.rules.strategies import CUSTOMER_IDS, NOW, datasets, leaves
from tests.audiences.rules.strategies import rules as rule_trees

restrictions = st.one_of(st.none(), st.lists(st.sampled_from(CUSTOMER_IDS), unique=True))


# One connection for every example (the views are replaced each time): opening one
# costs more than the query.
_connection = duckdb.connect(config={"threads": 1})


def sql_members(dataset: RuleDataset, rule: rules.Rule, restrict: list[int] | None) -> list[int]:
    register_dataset(_connection, dataset)
    restrict_to = None if restrict is None else pa.array(restrict, pa.int64())
    return rules.members(_connection, rule, now=NOW, restrict_to=restrict_to).to_pylist()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dataset=datasets(), data=rule_trees, restrict=restrictions)
def test_compiled_sql_matches_the_python_evaluator(
    dataset: RuleDataset, data: dict[str, Any], restrict: list[int] | None
) -> None:
    rule = rules.parse(data)
    expected = evaluate(
        dataset, rule, now=NOW, restrict_to=None if restrict is None else set(restrict)
    )
    assert sql_members(dataset, rule, restrict) == expected


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dataset=datasets(), data=leaves, restrict=restrictions)
def test_single_conditions_match_the_python_evaluator(
    dataset: RuleDataset, data: dict[str, Any], restrict: list[int] | None
) -> None:
    """Single conditions: no group can mask a difference in one of them."""
    rule = rules.parse(data)
    restrict_set = None if restrict is None else set(restrict)
    expected = evaluate(dataset, rule, now=NOW, restrict_to=restrict_set)
    assert sql_members(dataset, rule, restrict) == expected
