"""Growth value: an append-only ledger (``growth_entry``) and its sum on the membership.

Each entry is idempotent by (customer, source, reference): an ``order.paid`` event
delivered twice adds growth once. ``growth_value`` (lifetime) and ``period_growth``
(this review period) move with one UPDATE in the same transaction as the entry;
neither goes below zero, so a refund larger than the growth still held removes what
is there and records exactly that.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Exists, bindparam, case, exists, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from siyu.core import clock
from siyu.core.db import dialect_insert
from siyu.members import memberships, program, tier_changes
from siyu.members.errors import GrowthTaskDone, GrowthTaskUnknown
from siyu.models.customer import Customer, CustomerStaffLink
from siyu.models.member import GrowthEntry, Membership


class Source:
    ORDER = "order"
    REFUND = "refund"
    TASK = "task"
    ADJUST = "adjust"
    MERGE = "merge"


TASKS = ("complete_profile", "first_wecom_add", "review")


# One insert-or-nothing per dialect, built on first use (it runs on every paid order).
_INSERTS: dict[str, Any] = {}
_GROW = (
    update(Membership)
    .where(Membership.customer_id == bindparam("member"))
    .values(
        growth_value=Membership.growth_value + bindparam("amount"),
        period_growth=Membership.period_growth + bindparam("amount"),
        updated_at=bindparam("now"),
    )
    .returning(Membership.growth_value, Membership.period_growth)
)


def _insert(
    session: Session,
    customer_id: int,
    *,
    source: str,
    amount: int,
    reference: str,
    reason: str,
    actor: str,
) -> bool:
    dialect = session.get_bind().dialect.name
    if dialect not in _INSERTS:
        _INSERTS[dialect] = (
            dialect_insert(session, GrowthEntry)
            .on_conflict_do_nothing(index_elements=["customer_id", "source", "reference"])
            .returning(GrowthEntry.id)
        )
    created = (
        session.connection()
        .execute(
            _INSERTS[dialect],
            {
                "customer_id": customer_id,
                "source": source,
                "amount": amount,
                "reference": reference[:80],
                "reason": reason[:200],
                "actor": actor[:64],
                "created_at": clock.now(),
            },
        )
        .scalar_one_or_none()
    )
    return created is not None


def add(
    session: Session,
    customer_id: int,
    amount: int,
    *,
    source: str,
    reference: str,
    reason: str = "",
    actor: str = "system",
) -> bool:
    """Add growth (``amount`` > 0) and upgrade at once if a higher tier is reached.
    False when this (source, reference) was already counted."""
    membership = memberships.ensure(session, customer_id)
    if amount <= 0:
        return False
    if not _insert(
        session,
        customer_id,
        source=source,
        amount=amount,
        reference=reference,
        reason=reason,
        actor=actor,
    ):
        return False
    now = clock.now()
    grown = (
        session.connection()
        .execute(_GROW, {"member": customer_id, "amount": amount, "now": now})
        .one()
    )
    # What the UPDATE returned is what the row holds: no second read.
    set_committed_value(membership, "growth_value", grown.growth_value)
    set_committed_value(membership, "period_growth", grown.period_growth)
    set_committed_value(membership, "updated_at", now)
    tier_changes.upgrade_if_earned(session, membership)
    return True


def reduce(
    session: Session,
    customer_id: int,
    amount: int,
    *,
    source: str,
    reference: str,
    reason: str = "",
    actor: str = "system",
) -> int:
    """Take back up to ``amount`` growth; returns what was taken (never below zero).
    Lowering growth never lowers the tier before the review."""
    membership = memberships.get(session, customer_id)
    if membership is None or amount <= 0:
        return 0
    # Lock the row first so the amount taken is computed from the current value.
    session.refresh(membership, with_for_update=True)
    taken = min(amount, membership.growth_value)
    if taken <= 0 or not _insert(
        session,
        customer_id,
        source=source,
        amount=-taken,
        reference=reference,
        reason=reason,
        actor=actor,
    ):
        return 0
    session.execute(
        update(Membership)
        .where(Membership.customer_id == customer_id)
        .values(
            growth_value=Membership.growth_value - taken,
            period_growth=case(
                (Membership.period_growth > taken, Membership.period_growth - taken), else_=0
            ),
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(membership)
    return taken


def for_paid_amount(session: Session, paid_amount: int) -> int:
    """Growth for ``paid_amount`` fen: whole yuan × growth_per_yuan, rounded down."""
    return paid_amount * program.current(session).growth_per_yuan // 100


def complete_task(session: Session, customer_id: int, task: str, *, actor: str = "system") -> int:
    """Reward a growth task once per customer; returns the growth added."""
    if task not in TASKS:
        raise GrowthTaskUnknown(data={"task": task, "tasks": list(TASKS)})
    amount = getattr(program.current(session).growth_tasks, task)
    memberships.ensure(session, customer_id)
    done = session.scalar(
        select(GrowthEntry.id).where(
            GrowthEntry.customer_id == customer_id,
            GrowthEntry.source == Source.TASK,
            GrowthEntry.reference == f"task:{task}",
        )
    )
    if done is not None:
        raise GrowthTaskDone(data={"task": task})
    if amount <= 0:
        return 0
    added = add(
        session,
        customer_id,
        amount,
        source=Source.TASK,
        reference=f"task:{task}",
        reason=task,
        actor=actor,
    )
    if not added:
        raise GrowthTaskDone(data={"task": task})
    return amount


def _task_rewarded(reference: str) -> Exists:
    return exists().where(
        GrowthEntry.customer_id == bindparam("customer_id"),
        GrowthEntry.source == Source.TASK,
        GrowthEntry.reference == reference,
    )


# Built once: it runs on every paid order, and building it cost more than running it.
_TASKS_DUE = select(
    Customer.name.is_not(None)
    & (Customer.name != "")
    & Customer.birthday.is_not(None)
    & Customer.gender.is_not(None)
    & (Customer.gender != ""),
    exists().where(CustomerStaffLink.customer_id == bindparam("customer_id")),
    _task_rewarded("task:complete_profile"),
    _task_rewarded("task:first_wecom_add"),
).where(Customer.id == bindparam("customer_id"))


def automatic_tasks(session: Session, customer_id: int) -> list[str]:
    """Reward the tasks the customer's record shows done (complete profile: name,
    birthday and gender; first WeCom add: a staff link exists). Safe to call often:
    one query answers whether anything is due (it runs on every paid order)."""
    row = session.connection().execute(_TASKS_DUE, {"customer_id": customer_id}).one_or_none()
    if row is None:
        return []
    profile_complete, linked, profile_rewarded, link_rewarded = row
    rewarded = []
    if profile_complete and not profile_rewarded:
        complete_task(session, customer_id, "complete_profile")
        rewarded.append("complete_profile")
    if linked and not link_rewarded:
        complete_task(session, customer_id, "first_wecom_add")
        rewarded.append("first_wecom_add")
    return rewarded
