"""What happens to a group as its members' orders move on, and at its deadline.

* ``order.paid``: the member is paid; the leader's payment opens the group (its timer
  starts), the last seat's payment fills it (成团) and its orders may ship.
* ``order.cancelled`` (unpaid, cancelled or timed out): the seat, a unit of campaign
  stock and the customer's tally come back; a leader who never paid cancels the group.
* ``order.refunded``: a member refunded by the deadline is marked refunded and the
  campaign stock returns (the mall stock returns through the refund's restock).
* the deadline (:func:`conclude`): an unfilled group fails and every paid member is
  refunded through the refunds service and the payment provider.

Exactly once, even when two workers race: the group moves ``open → failed`` by one
conditional UPDATE (only one caller sees a row count of 1 and goes on to refund), and
each member moves ``paid → refunding`` the same way before its refund is requested,
so the deadline job, the sweep and a late ``order.paid`` handler can never refund one
member twice. Every handler locks the group row first (``FOR UPDATE`` on PostgreSQL;
SQLite has one writer anyway), the same order as joining, so they never deadlock.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.campaigns.group_buy.errors import GroupNotFilled
from siyu.campaigns.group_buy.participation import give_back
from siyu.core import clock, jobs, outbox
from siyu.core.db import rowcount
from siyu.models.campaign import Campaign
from siyu.models.group_buy import (
    GroupBuyDeal,
    GroupBuyGroup,
    GroupBuyMember,
    GroupStatus,
    MemberStatus,
)
from siyu.models.order import Order
from siyu.orders import lifecycle, refunds
from siyu.orders.errors import InvalidTransition, RefundNotAllowed

EXPIRE_TASK = "group_buy.expire"
SWEEP_TASK = "group_buy.sweep"
SWEEP_EVERY = timedelta(minutes=5)
SWEEP_BATCH = 200
ACTOR = "system:group_buy"
REFUND_REASON = "拼团未成团，自动退款"
# An operator must look: the deadline could not refund a member automatically.
REFUND_BLOCKED = "group_buy.refund_blocked"


def member_of_order(session: Session, order_id: int) -> GroupBuyMember | None:
    return session.scalars(
        select(GroupBuyMember).where(GroupBuyMember.order_id == order_id)
    ).first()


def _lock_group(session: Session, group_id: int) -> GroupBuyGroup:
    return session.scalars(
        select(GroupBuyGroup)
        .where(GroupBuyGroup.id == group_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _move_member(
    session: Session,
    member: GroupBuyMember,
    source: MemberStatus,
    target: MemberStatus,
    **values: object,
) -> bool:
    moved = session.execute(
        update(GroupBuyMember)
        .where(GroupBuyMember.id == member.id, GroupBuyMember.status == source)
        .values(status=target.value, updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(member)
    return rowcount(moved) == 1


def _move_group(
    session: Session, group: GroupBuyGroup, source: GroupStatus, **values: object
) -> bool:
    moved = session.execute(
        update(GroupBuyGroup)
        .where(GroupBuyGroup.id == group.id, GroupBuyGroup.status == source)
        .values(updated_at=clock.now(), **values)
        .execution_options(synchronize_session=False)
    )
    session.refresh(group)
    return rowcount(moved) == 1


def deadline_for(session: Session, group: GroupBuyGroup, opened_at: datetime) -> datetime:
    """The deal's limit from opening, but never past the campaign's close."""
    deal = session.get(GroupBuyDeal, group.deal_id)
    campaign = session.get(Campaign, group.campaign_id)
    assert deal is not None
    assert campaign is not None
    limit = opened_at + timedelta(minutes=deal.time_limit_minutes)
    return min(limit, campaign.closes_at or campaign.ends_at)


def schedule_deadline(session: Session, group: GroupBuyGroup) -> None:
    assert group.expires_at is not None
    jobs.enqueue(
        session,
        EXPIRE_TASK,
        {"group_id": group.id},
        run_at=group.expires_at,
        idempotency_key=f"{EXPIRE_TASK}:{group.id}",
    )
    ensure_sweep(session)


def ensure_sweep(session: Session, *, after: datetime | None = None) -> None:
    """The safety net behind the per-group deadline jobs: one sweep per 5-minute slot
    (the idempotency key names the slot), however many groups or workers ask."""
    moment = after or clock.now()
    slot = moment.replace(second=0, microsecond=0) + SWEEP_EVERY
    slot = slot.replace(minute=slot.minute - slot.minute % 5)
    jobs.enqueue(
        session, SWEEP_TASK, {}, run_at=slot, idempotency_key=f"{SWEEP_TASK}:{slot.isoformat()}"
    )


def on_paid(session: Session, order_id: int) -> None:
    member = member_of_order(session, order_id)
    if member is None:
        return
    group = _lock_group(session, member.group_id)
    now = clock.now()
    if not _move_member(
        session, member, MemberStatus.PENDING_PAYMENT, MemberStatus.PAID, paid_at=now
    ):
        return  # a repeated event
    if group.status == GroupStatus.PENDING and member.is_leader:
        _move_group(
            session,
            group,
            GroupStatus.PENDING,
            status=GroupStatus.OPEN.value,
            opened_at=now,
            expires_at=deadline_for(session, group, now),
            paid_count=GroupBuyGroup.paid_count + 1,
        )
        schedule_deadline(session, group)
    elif group.status == GroupStatus.OPEN:
        _move_group(session, group, GroupStatus.OPEN, paid_count=GroupBuyGroup.paid_count + 1)
    else:
        # Paid after the group ended (the deadline cancelled nothing because the money
        # was already in): give it back.
        refund_member(session, member)
        return
    _fill_if_complete(session, group)


def _fill_if_complete(session: Session, group: GroupBuyGroup) -> None:
    moved = session.execute(
        update(GroupBuyGroup)
        .where(
            GroupBuyGroup.id == group.id,
            GroupBuyGroup.status == GroupStatus.OPEN,
            GroupBuyGroup.paid_count >= GroupBuyGroup.size,
        )
        .values(status=GroupStatus.FILLED.value, filled_at=clock.now(), updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    session.refresh(group)
    if rowcount(moved) == 1:
        outbox.emit(
            session,
            "group_buy.filled",
            {"group_id": group.id, "campaign_id": group.campaign_id, "virtual_seats": 0},
        )


def on_cancelled(session: Session, order_id: int) -> None:
    member = member_of_order(session, order_id)
    if member is None:
        return
    group = _lock_group(session, member.group_id)
    if not _move_member(session, member, MemberStatus.PENDING_PAYMENT, MemberStatus.CANCELLED):
        return
    session.execute(
        update(GroupBuyGroup)
        .where(GroupBuyGroup.id == group.id, GroupBuyGroup.member_count >= 1)
        .values(member_count=GroupBuyGroup.member_count - 1, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if member.is_leader:
        _move_group(session, group, GroupStatus.PENDING, status=GroupStatus.CANCELLED.value)
    give_back(session, group.deal_id, member.customer_id)


def on_refunded(session: Session, order_id: int, *, is_full: bool) -> None:
    member = member_of_order(session, order_id)
    if member is None or not is_full:
        return
    group = _lock_group(session, member.group_id)
    now = clock.now()
    if _move_member(
        session, member, MemberStatus.REFUNDING, MemberStatus.REFUNDED, refunded_at=now
    ):
        give_back(session, group.deal_id, member.customer_id)
        return
    # The customer's own after-sale refund while the group was still open: the seat is
    # free again for someone else.
    if group.status == GroupStatus.OPEN and _move_member(
        session, member, MemberStatus.PAID, MemberStatus.REFUNDED, refunded_at=now
    ):
        session.execute(
            update(GroupBuyGroup)
            .where(
                GroupBuyGroup.id == group.id,
                GroupBuyGroup.member_count >= 1,
                GroupBuyGroup.paid_count >= 1,
            )
            .values(
                member_count=GroupBuyGroup.member_count - 1,
                paid_count=GroupBuyGroup.paid_count - 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        give_back(session, group.deal_id, member.customer_id)


def refund_member(session: Session, member: GroupBuyMember) -> bool:
    """Request and approve a full refund of ``member``'s order (the submit job sends it
    to the provider); True when this call did it."""
    savepoint = session.begin_nested()
    if not _move_member(session, member, MemberStatus.PAID, MemberStatus.REFUNDING):
        savepoint.commit()
        return False
    order = session.get(Order, member.order_id) if member.order_id else None
    try:
        if order is None:
            raise RefundNotAllowed(data={"reason": "no order"})
        refund = refunds.request_refund(
            session, order, items=None, reason=REFUND_REASON, requested_by=ACTOR, restock=True
        )
        refunds.approve(session, refund, actor=ACTOR, note="group failed")
    except RefundNotAllowed as error:
        # The customer already has a refund open (or the order moved on): leave the
        # member paid and tell operators rather than refund twice.
        savepoint.rollback()
        outbox.emit(
            session,
            REFUND_BLOCKED,
            {
                "member_id": member.id,
                "group_id": member.group_id,
                "order_id": member.order_id,
                "reason": error.code,
            },
        )
        session.refresh(member)
        return False
    member.refund_id = refund.id
    session.flush()
    savepoint.commit()
    return True


def conclude(session: Session, group_id: int) -> bool:
    """The deadline of an open group: fill it virtually (when 模拟成团 is on and someone
    paid) or fail it and refund its paid members. True when this call decided."""
    now = clock.now()
    group = _lock_group(session, group_id)
    if group.status != GroupStatus.OPEN or group.expires_at is None or group.expires_at > now:
        return False
    expired = (GroupBuyGroup.expires_at <= now,)
    if group.virtual_completion and group.paid_count >= 1:
        moved = session.execute(
            update(GroupBuyGroup)
            .where(GroupBuyGroup.id == group.id, GroupBuyGroup.status == GroupStatus.OPEN, *expired)
            .values(
                status=GroupStatus.FILLED.value,
                filled_at=now,
                virtual_seats=GroupBuyGroup.size - GroupBuyGroup.paid_count,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        outcome = "filled"
    else:
        moved = session.execute(
            update(GroupBuyGroup)
            .where(GroupBuyGroup.id == group.id, GroupBuyGroup.status == GroupStatus.OPEN, *expired)
            .values(status=GroupStatus.FAILED.value, failed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        outcome = "failed"
    if rowcount(moved) != 1:
        return False  # another worker decided this group
    session.refresh(group)
    members = list(
        session.scalars(
            select(GroupBuyMember)
            .where(
                GroupBuyMember.group_id == group.id,
                GroupBuyMember.status.in_([MemberStatus.PENDING_PAYMENT, MemberStatus.PAID]),
            )
            .order_by(GroupBuyMember.id)
        )
    )
    for member in members:
        if member.status == MemberStatus.PENDING_PAYMENT:
            _cancel_unpaid(session, member)
        elif outcome == "failed":
            refund_member(session, member)
    outbox.emit(
        session,
        f"group_buy.{outcome}",
        {
            "group_id": group.id,
            "campaign_id": group.campaign_id,
            "virtual_seats": group.virtual_seats,
        },
    )
    return True


def _cancel_unpaid(session: Session, member: GroupBuyMember) -> None:
    """The group ended: an unpaid seat's order can no longer be paid."""
    order = session.get(Order, member.order_id) if member.order_id else None
    if order is None:
        return
    try:
        with session.begin_nested():
            lifecycle.cancel(session, order, actor=ACTOR, reason="group_ended")
    except InvalidTransition:
        # Paid a moment ago: its order.paid handler finds the group ended and refunds.
        session.refresh(order)


def sweep(session: Session, *, limit: int = SWEEP_BATCH) -> int:
    """Conclude open groups past their deadline (missed or late deadline jobs)."""
    now = clock.now()
    ids = list(
        session.scalars(
            select(GroupBuyGroup.id)
            .where(GroupBuyGroup.status == GroupStatus.OPEN, GroupBuyGroup.expires_at <= now)
            .order_by(GroupBuyGroup.expires_at, GroupBuyGroup.id)
            .limit(limit)
        )
    )
    return sum(1 for group_id in ids if conclude(session, group_id))


def has_unsettled_groups(session: Session) -> bool:
    return (
        session.scalar(
            select(GroupBuyGroup.id)
            .where(GroupBuyGroup.status.in_([GroupStatus.OPEN, GroupStatus.PENDING]))
            .limit(1)
        )
        is not None
    )


def ship_guard(session: Session, order: Order) -> None:
    """Orders of a group that has not filled are paid but held: they cannot ship."""
    member = member_of_order(session, order.id)
    if member is None:
        return
    group = session.get(GroupBuyGroup, member.group_id)
    if group is not None and group.status != GroupStatus.FILLED:
        raise GroupNotFilled(
            data={"order": order.public_id, "group": group.public_id, "status": group.status}
        )
