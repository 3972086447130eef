"""Lifecycle stages: the AIPL and the operational model (docs/traits.md, "Lifecycle").

AIPL (every live customer has a stage; the first rule that holds wins):

* ``loyal``: at least ``loyal_min_orders`` paid orders within ``loyal_window_days``, or
  a member tier of rank ≥ ``loyal_min_tier_rank`` (when set);
* ``purchased``: at least one paid order, ever;
* ``interested``: no paid order, but engaged within ``interest_window_days``: a tracked
  event of one of ``engagement_events`` (product views, add to cart …) or a WeCom
  contact (staff link) added in that window;
* ``aware``: known to us (a live customer), nothing of the above.

Operational (only customers with a paid order; the others have none):

* ``new``: the first paid order within ``new_days``;
* ``active``: the last paid order within ``active_days``;
* ``dormant``: the last paid order within ``churn_days`` but not ``active_days``;
* ``churned``: older;
* ``recalled``: the stored stage was dormant or churned and a paid order came after the
  stored last order. The customer stays recalled for one active window after that
  returning order (``ops_stage_since``), then the rules above apply again.

``ops_stage_since`` is the returning order's time for recalled, otherwise the time of
the computation that first saw the customer in the stage (kept while it stays).

Transitions: a customer whose stored stage (the previous computation) differs from the
new one gets a ``lifecycle_transition`` row and a ``lifecycle.changed`` domain event.
The **first** computation of a customer (no stored traits yet) records the initial
stages in ``customer_trait`` only: no transition row, no event, so switching the
feature on for a million customers does not flood the outbox. A stage that becomes
empty (the only paid order fully refunded) is not a transition.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast

import pyarrow as pa
from sqlalchemy import Table
from sqlalchemy.orm import Session

from siyu.audiences.config_schemas import AudienceSettings
from siyu.core import bulk_insert, outbox
from siyu.core.db import dialect_insert
from siyu.models.audience import LifecycleDistribution, LifecycleModel, LifecycleTransition

AIPL_STAGES: tuple[str, ...] = ("aware", "interested", "purchased", "loyal")
OPS_STAGES: tuple[str, ...] = ("new", "active", "dormant", "churned", "recalled")
STAGES: dict[str, tuple[str, ...]] = {
    LifecycleModel.AIPL.value: AIPL_STAGES,
    LifecycleModel.OPERATIONAL.value: OPS_STAGES,
}
CHANGED_EVENT = "lifecycle.changed"


def parameters(now: datetime, settings: AudienceSettings) -> dict[str, object]:
    windows = settings.operational
    return {
        "now": now,
        "new_since": now - timedelta(days=windows.new_days),
        "active_since": now - timedelta(days=windows.active_days),
        "churn_since": now - timedelta(days=windows.churn_days),
    }


def stages_sql(settings: AudienceSettings) -> str:
    """``_stages``: both models' stages for ``_base`` against the stored ``traits``."""
    aipl = settings.aipl
    tier_rule = (
        f"OR coalesce(b.tier_rank >= {int(aipl.loyal_min_tier_rank)}, false)"
        if aipl.loyal_min_tier_rank is not None
        else ""
    )
    return f"""
CREATE OR REPLACE TEMP TABLE _stages AS
WITH prev AS (
    SELECT customer_id, aipl_stage, ops_stage, ops_stage_since, last_order_at FROM traits
    WHERE customer_id IN (SELECT customer_id FROM _scope)
),
recall AS (
    SELECT p.customer_id, min(o.paid_at) AS recall_at
    FROM _paid o JOIN prev p ON p.customer_id = o.customer_id
    WHERE p.ops_stage IN ('dormant', 'churned') AND o.paid_at > p.last_order_at
    GROUP BY p.customer_id
),
staged AS (
    SELECT b.customer_id,
           CASE WHEN b.orders_loyal_window >= {int(aipl.loyal_min_orders)} {tier_rule}
                    THEN 'loyal'
                WHEN b.orders_total > 0 THEN 'purchased'
                WHEN b.engaged THEN 'interested'
                ELSE 'aware' END AS aipl_stage,
           CASE WHEN b.orders_total = 0 THEN NULL
                WHEN b.first_order_at > $new_since THEN 'new'
                WHEN b.last_order_at > $active_since THEN 'active'
                WHEN b.last_order_at > $churn_since THEN 'dormant'
                ELSE 'churned' END AS base_ops,
           p.customer_id IS NOT NULL AS had_previous,
           p.aipl_stage AS previous_aipl, p.ops_stage AS previous_ops,
           p.ops_stage_since AS previous_since,
           coalesce(r.recall_at, CASE WHEN p.ops_stage = 'recalled' THEN p.ops_stage_since END)
               AS recalled_at
    FROM _base b
    LEFT JOIN prev p ON p.customer_id = b.customer_id
    LEFT JOIN recall r ON r.customer_id = b.customer_id
),
final AS (
    SELECT *,
           CASE WHEN base_ops = 'active' AND recalled_at > $active_since THEN 'recalled'
                ELSE base_ops END AS ops_stage
    FROM staged
)
SELECT customer_id, aipl_stage, ops_stage, had_previous, previous_aipl, previous_ops,
       CASE WHEN ops_stage IS NULL THEN NULL
            WHEN ops_stage = 'recalled' THEN recalled_at
            WHEN had_previous AND ops_stage = previous_ops
                THEN coalesce(previous_since, $now)
            ELSE $now END AS ops_stage_since
FROM final
"""


# Transitions of customers that had stored stages; a stage that became empty is none.
TRANSITIONS_SQL = f"""
SELECT customer_id, '{LifecycleModel.AIPL.value}' AS model, previous_aipl AS from_stage,
       aipl_stage AS to_stage
FROM _stages
WHERE had_previous AND aipl_stage IS NOT NULL AND aipl_stage IS DISTINCT FROM previous_aipl
UNION ALL
SELECT customer_id, '{LifecycleModel.OPERATIONAL.value}', previous_ops, ops_stage
FROM _stages
WHERE had_previous AND ops_stage IS NOT NULL AND ops_stage IS DISTINCT FROM previous_ops
ORDER BY customer_id, model
"""


def record_transitions(session: Session, transitions: pa.Table, *, at: datetime) -> int:
    """Bulk-insert the transition rows and emit one ``lifecycle.changed`` per row."""
    rows = transitions.to_pylist()
    # The bulk path (one compiled statement, tuples to the driver): a Core executemany
    # of dicts spent most of its time in per-parameter bookkeeping.
    columns = ("customer_id", "model", "from_stage", "to_stage")
    bulk_insert.insert_many(
        session,
        cast(Table, LifecycleTransition.__table__),
        columns,
        ([row[name] for name in columns] for row in rows),
        constants={"at": at},
    )
    outbox.emit_many(session, CHANGED_EVENT, (dict(row) for row in rows))
    return len(rows)


def keep_distribution(session: Session, counts: dict[tuple[str, str], int], day: date) -> None:
    """Upsert today's count of every stage of both models (zero for empty stages, so a
    stage that emptied during the day does not keep its morning count)."""
    rows = [
        {"day": day, "model": model, "stage": stage, "customers": counts.get((model, stage), 0)}
        for model, stages in STAGES.items()
        for stage in stages
    ]
    statement = dialect_insert(session, LifecycleDistribution)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["day", "model", "stage"],
            set_={"customers": statement.excluded.customers},
        ),
        rows,
    )
