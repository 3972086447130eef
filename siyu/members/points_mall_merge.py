"""When two customers merge, the merged customer's exchanges, per-item tallies and
benefit grants become the survivor's (synchronous re-pointers, in the merge's own
transaction, like ``siyu.orders.merge``).

Tallies add up: the same person exchanged on two accounts, and the per-member limit is
per person. A benefit period both accounts were already granted stays granted once:
the merged account's duplicate row is dropped (the unique key is per customer).
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from siyu.core.db import rowcount
from siyu.customers.merge import register_repointer
from siyu.models.member import BenefitGrant, PointsExchange, PointsMallTally


def _repoint_exchanges(session: Session, survivor_id: int, merged_id: int) -> int:
    return rowcount(
        session.execute(
            update(PointsExchange)
            .where(PointsExchange.customer_id == merged_id)
            .values(customer_id=survivor_id)
            .execution_options(synchronize_session=False)
        )
    )


def _merge_tallies(session: Session, survivor_id: int, merged_id: int) -> int:
    kept = {
        row.item_id: row
        for row in session.scalars(
            select(PointsMallTally).where(PointsMallTally.customer_id == survivor_id)
        )
    }
    moved = 0
    for row in session.scalars(
        select(PointsMallTally).where(PointsMallTally.customer_id == merged_id)
    ).all():
        existing = kept.get(row.item_id)
        if existing is None:
            session.add(
                PointsMallTally(
                    item_id=row.item_id, customer_id=survivor_id, exchanged=row.exchanged
                )
            )
        else:
            existing.exchanged += row.exchanged
        moved += 1
    session.flush()
    session.execute(
        delete(PointsMallTally)
        .where(PointsMallTally.customer_id == merged_id)
        .execution_options(synchronize_session=False)
    )
    return moved


def _merge_grants(session: Session, survivor_id: int, merged_id: int) -> int:
    taken = {
        (row.kind, row.period)
        for row in session.execute(
            select(BenefitGrant.kind, BenefitGrant.period).where(
                BenefitGrant.customer_id == survivor_id
            )
        )
    }
    moved = 0
    for grant in session.scalars(
        select(BenefitGrant).where(BenefitGrant.customer_id == merged_id)
    ).all():
        if (grant.kind, grant.period) in taken:
            session.delete(grant)
        else:
            grant.customer_id = survivor_id
            moved += 1
    session.flush()
    return moved


register_repointer("points_exchange", _repoint_exchanges)
register_repointer("points_mall_tally", _merge_tallies)
register_repointer("benefit_grant", _merge_grants)
