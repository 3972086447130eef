"""Merges: what happens to a merged customer's traits and lifecycle history.

``customer_trait``: the merged customer's row is dropped. The survivor's row stays as
it is until the next refresh recomputes it from the combined orders and events (the
warehouse views resolve every customer id to the survivor), which is also when its
stages may change and transitions are recorded.
``lifecycle_transition``: the history moves to the survivor, so its timeline keeps
what happened to the customer it absorbed.
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from siyu.core.db import rowcount
from siyu.customers.merge import register_repointer
from siyu.models.audience import CustomerTrait, LifecycleTransition


def _drop_traits(session: Session, survivor_id: int, merged_id: int) -> int:
    return rowcount(
        session.execute(
            delete(CustomerTrait).where(CustomerTrait.customer_id == merged_id),
            execution_options={"synchronize_session": False},
        )
    )


def _repoint_transitions(session: Session, survivor_id: int, merged_id: int) -> int:
    return rowcount(
        session.execute(
            update(LifecycleTransition)
            .where(LifecycleTransition.customer_id == merged_id)
            .values(customer_id=survivor_id),
            execution_options={"synchronize_session": False},
        )
    )


register_repointer("customer_trait", _drop_traits)
register_repointer("lifecycle_transition", _repoint_transitions)
