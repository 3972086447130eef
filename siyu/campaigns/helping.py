"""The helper rules 砍价 bargain and 助力 assist share (issue 6 §4–5).

A help is only worth something to the brand when it brings a reachable customer, so:

- the helper is signed in (a storefront session) *and* holds a reachable identity —
  a unionid, an mp/oa openid, a WeCom external_userid or a phone; an anonymous id
  alone is not enough (``helper.not_identified``);
- never their own bargain/assist (``helper.own``); once per bargain/assist (each
  mechanic's help table has a unique (target, helper) key: ``helper.already_helped``);
- at most M helps per day per mechanic: ``HelperDailyTally`` is created
  insert-or-nothing and bumped by ``helps + 1 <= :limit`` in one UPDATE, so racing
  helps from one customer can never pass the limit (a read-then-write could);
- every helper receives the follow-up benefit (a coupon of the deal's template,
  through ``siyu.coupons.issuing``) in the same transaction: if it cannot be issued
  the help is refused and nothing changes.

The day is the shop's (``settings.timezone``), like the coupons' per-day limits.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from siyu.campaigns.pricing import CampaignOption, InvalidCampaignOrder
from siyu.core import clock
from siyu.core.db import dialect_insert, rowcount
from siyu.core.errors import Conflict, PermissionDenied, SiyuError, TooManyRequests
from siyu.coupons import issuing
from siyu.models.bargain import Assist, AssistHelp, Bargain, BargainHelp
from siyu.models.base import Base
from siyu.models.campaign import HelperDailyTally
from siyu.models.coupon import Coupon, CouponSource
from siyu.models.customer import CustomerIdentity, IdentityKind
from siyu.models.order import Order

BARGAIN = "bargain"
ASSIST = "assist"
# Identities through which the brand can reach the helper again.
REACHABLE_KINDS: tuple[str, ...] = (
    IdentityKind.UNIONID.value,
    IdentityKind.MP_OPENID.value,
    IdentityKind.OA_OPENID.value,
    IdentityKind.WECOM_EXTERNAL_USERID.value,
    IdentityKind.PHONE.value,
)


class HelperNotIdentified(PermissionDenied):
    code = "helper.not_identified"
    message = "Sign in with WeChat or a phone number to help."


class OwnTarget(Conflict):
    code = "helper.own"
    message = "You cannot help your own bargain or assist."


class AlreadyHelped(Conflict):
    code = "helper.already_helped"
    message = "You have already helped this one."


class DailyLimitReached(TooManyRequests):
    code = "helper.daily_limit"
    message = "You have helped as many times as allowed today."


def today() -> date:
    return issuing.shop_today(clock.now())


def is_identified(session: Session, customer_id: int) -> bool:
    return (
        session.scalar(
            select(CustomerIdentity.id)
            .where(
                CustomerIdentity.customer_id == customer_id,
                CustomerIdentity.kind.in_(REACHABLE_KINDS),
            )
            .limit(1)
        )
        is not None
    )


def check_helper(session: Session, *, helper_id: int, initiator_id: int, target: str) -> None:
    """The checks that need no write: identity and not one's own."""
    if helper_id == initiator_id:
        raise OwnTarget(data={"target": target})
    if not is_identified(session, helper_id):
        raise HelperNotIdentified(data={"target": target, "accepted": list(REACHABLE_KINDS)})


def take_daily_help(session: Session, customer_id: int, mechanic: str, limit: int) -> None:
    """Count one help for today, or raise ``helper.daily_limit`` leaving nothing changed
    (the caller's savepoint drops the insert-or-nothing row with the refusal)."""
    day = today()
    session.execute(
        dialect_insert(session, HelperDailyTally)
        .values(customer_id=customer_id, day=day, mechanic=mechanic, helps=0)
        .on_conflict_do_nothing(index_elements=["customer_id", "day", "mechanic"])
    )
    # One conditional UPDATE: concurrent helps of one customer queue on this row and
    # each re-checks the limit, so no interleaving passes it.
    taken = session.execute(
        update(HelperDailyTally)
        .where(
            HelperDailyTally.customer_id == customer_id,
            HelperDailyTally.day == day,
            HelperDailyTally.mechanic == mechanic,
            HelperDailyTally.helps + 1 <= limit,
        )
        .values(helps=HelperDailyTally.helps + 1)
        .execution_options(synchronize_session=False)
    )
    if rowcount(taken) != 1:
        raise DailyLimitReached(data={"mechanic": mechanic, "limit": limit, "day": day.isoformat()})


def helps_today(session: Session, customer_id: int, mechanic: str) -> int:
    return (
        session.scalar(
            select(HelperDailyTally.helps).where(
                HelperDailyTally.customer_id == customer_id,
                HelperDailyTally.day == today(),
                HelperDailyTally.mechanic == mechanic,
            )
        )
        or 0
    )


def give_benefit(session: Session, template_id: int, helper_id: int, source_ref: str) -> Coupon:
    """The helper's follow-up coupon. Refusals (template exhausted or ended) propagate
    so the caller's savepoint undoes the help with them."""
    return issuing.issue(
        session,
        template_id,
        helper_id,
        source=CouponSource.AUTO,
        source_ref=source_ref,
        actor="campaign",
        # The help itself is the limit (once per target, M a day).
        enforce_customer_limits=False,
    )


def insert_or_refuse(session: Session, row: Base, refusal: SiyuError) -> None:
    """Insert ``row`` in its own savepoint; a unique key that says no (a second live
    bargain, a helper racing themselves) becomes ``refusal``, with nothing changed."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as error:
        raise refusal from error


TargetT = TypeVar("TargetT", Bargain, Assist)
HelpT = TypeVar("HelpT", BargainHelp, AssistHelp)


# --- the bargains/assists themselves (``model``: Bargain or Assist) ----------------


def latest_of(
    session: Session,
    model: type[TargetT],
    deal_id: int,
    customer_id: int,
    *,
    open_statuses: tuple[str, ...],
    done_statuses: tuple[str, ...],
) -> TargetT | None:
    """The customer's latest one on the deal that is not over: open before its
    deadline, or done (ordered, claimed…) — what the storefront shows as "mine"."""
    now = clock.now()
    return session.scalars(
        select(model)
        .where(
            model.deal_id == deal_id,
            model.customer_id == customer_id,
            or_(
                and_(model.status.in_(open_statuses), model.expires_at > now),
                model.status.in_(done_statuses),
            ),
        )
        .order_by(model.id.desc())
        .limit(1)
    ).first()


def expire_timed_out(
    session: Session,
    model: type[TargetT],
    deal_id: int,
    customer_id: int,
    *,
    open_statuses: tuple[str, ...],
    now: datetime,
) -> None:
    """Close the customer's open ones whose time ran out, so the live index (one per
    deal per customer) admits a new one."""
    session.execute(
        update(model)
        .where(
            model.deal_id == deal_id,
            model.customer_id == customer_id,
            model.status.in_(open_statuses),
            model.expires_at <= now,
        )
        .values(status="expired", updated_at=now)
        .execution_options(synchronize_session=False)
    )


def attach_order(
    session: Session,
    model: type[TargetT],
    order: Order,
    option: CampaignOption,
    *,
    ordered_status: str,
) -> None:
    """The ``campaign_price`` placement hook: the order must belong to the initiator's
    one in ``ordered_status`` that has no order yet; anything else rolls it back."""
    attached = session.execute(
        update(model)
        .where(
            model.id == option.reference_id,
            model.campaign_id == option.campaign_id,
            model.customer_id == order.customer_id,
            model.status == ordered_status,
            model.order_id.is_(None),
        )
        .values(order_id=order.id)
        .execution_options(synchronize_session=False)
    )
    if rowcount(attached) != 1:
        # The key names the mechanic's row: bargain_id / assist_id.
        raise InvalidCampaignOrder(data={f"{model.__tablename__}_id": option.reference_id})


def list_for_campaign(
    session: Session, model: type[TargetT], campaign_id: int, *, limit: int
) -> list[TargetT]:
    """A campaign's latest ones, newest first (1 to 500)."""
    return list(
        session.scalars(
            select(model)
            .where(model.campaign_id == campaign_id)
            .order_by(model.id.desc())
            .limit(min(max(limit, 1), 500))
        )
    )


# --- customer merges ------------------------------------------------------------
# When two customers merge (``siyu.customers.merge``), what the merged one started or
# helped becomes the survivor's, in the merge's own transaction. The rules that are
# per person stay per person: daily tallies add up, and where both accounts hold a
# live bargain/assist on one deal the one still open on the merged account is closed
# (expired) so the survivor keeps one. A help on a target the survivor also helped
# stays on the merged account: it is history (its cut is part of the audited plan).


def merge_tallies(session: Session, survivor_id: int, merged_id: int) -> int:
    rows = session.scalars(
        select(HelperDailyTally).where(HelperDailyTally.customer_id == merged_id)
    ).all()
    for row in rows:
        session.execute(
            dialect_insert(session, HelperDailyTally)
            .values(customer_id=survivor_id, day=row.day, mechanic=row.mechanic, helps=0)
            .on_conflict_do_nothing(index_elements=["customer_id", "day", "mechanic"])
        )
        session.execute(
            update(HelperDailyTally)
            .where(
                HelperDailyTally.customer_id == survivor_id,
                HelperDailyTally.day == row.day,
                HelperDailyTally.mechanic == row.mechanic,
            )
            .values(helps=HelperDailyTally.helps + row.helps)
            .execution_options(synchronize_session=False)
        )
        session.delete(row)
    session.flush()
    return len(rows)


def repoint_initiator(
    session: Session,
    model: type[TargetT],
    closable: tuple[str, ...],
    live: tuple[str, ...],
    ids: tuple[int, int],
) -> int:
    """Move the merged customer's bargains/assists (``model``) to the survivor. Where
    both hold a live one on a deal, the merged one is closed first if still open
    (``closable``); two live ones that cannot close (both ordered) stay apart."""
    survivor_id, merged_id = ids
    surviving_deals = set(
        session.scalars(
            select(model.deal_id).where(model.customer_id == survivor_id, model.status.in_(live))
        )
    )
    moved = 0
    for row in session.scalars(select(model).where(model.customer_id == merged_id)).all():
        if row.status in live and row.deal_id in surviving_deals:
            if row.status not in closable:
                continue
            row.status = "expired"
        row.customer_id = survivor_id
        moved += 1
    session.flush()
    return moved


def repoint_helps(
    session: Session,
    model: type[HelpT],
    target: InstrumentedAttribute[int],
    ids: tuple[int, int],
) -> int:
    """Move the merged customer's helps (``target``: the bargain or assist column) to
    the survivor, except on targets the survivor helped too."""
    survivor_id, merged_id = ids
    helped = set(session.scalars(select(target).where(model.helper_customer_id == survivor_id)))
    moved = 0
    for row in session.scalars(select(model).where(model.helper_customer_id == merged_id)).all():
        if getattr(row, target.key) in helped:
            continue
        row.helper_customer_id = survivor_id
        moved += 1
    session.flush()
    return moved
