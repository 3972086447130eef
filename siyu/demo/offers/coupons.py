"""The demo coupons: eight templates, and when the brand's customers got and used them.

Every coupon is issued through ``siyu.coupons`` (claims from the coupon centre, a
bulk grant, guides' sends) at a historical moment, so validity and expiry follow
from the real rules; guides write store coupons off at their own till.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from siyu.core import settings as settings_module
from siyu.coupons import expiry, grants, issuing, templates, writeoff
from siyu.coupons.schemas import TemplateIn
from siyu.demo.offers.context import Action, Context, Step, pick
from siyu.demo.offers.program import GOLD_RANK
from siyu.models.coupon import CouponKind, ValidityKind
from siyu.models.customer import Customer
from siyu.models.member import Membership, MemberTier
from siyu.models.order import Order
from siyu.models.staff import Role, Staff, StaffRole
from siyu.staff.principal import AuthMethod, Principal, principal_for_staff

NEW_USER = "new_user"
MONTHLY = "monthly_199_30"
PERCENT = "percent_90"
SHIPPING = "free_shipping"
STORE = "store_300_50"
GOLD = "gold_99_20"
BIRTHDAY = "black_birthday"
MALL_FIVE = "points_mall_5"


def _month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """This calendar month in the shop's time zone, as aware datetimes."""
    zone = settings_module.current().tzinfo
    local = now.astimezone(zone)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def _specs(ctx: Context) -> dict[str, dict[str, Any]]:
    month_start, month_end = _month_bounds(ctx.now)
    relative = {"validity": ValidityKind.RELATIVE}
    return {
        NEW_USER: {
            "name": "新人专享 ¥10 无门槛",
            "kind": CouponKind.NO_THRESHOLD,
            "discount_amount": 1_000,
            "valid_days": 7,
            "per_customer_limit": 1,
            "in_coupon_centre": True,
            **relative,
        },
        MONTHLY: {
            "name": "满199减30",
            "kind": CouponKind.THRESHOLD,
            "threshold_amount": 19_900,
            "discount_amount": 3_000,
            "validity": ValidityKind.FIXED,
            "valid_from": month_start,
            "valid_until": month_end,
            "claim_starts_at": month_start,
            "claim_ends_at": month_end,
            "per_customer_limit": 2,
            "per_day_limit": 1,
            "in_coupon_centre": True,
        },
        PERCENT: {
            "name": "全场9折 最高减50",
            "kind": CouponKind.PERCENT_OFF,
            "discount_rate": 9_000,
            "max_discount_amount": 5_000,
            "valid_days": 14,
            "per_customer_limit": 1,
            "in_coupon_centre": True,
            **relative,
        },
        SHIPPING: {
            "name": "包邮券",
            "kind": CouponKind.FREE_SHIPPING,
            "channels": ["mall"],
            "valid_days": 30,
            "per_customer_limit": 1,
            **relative,
        },
        STORE: {
            "name": "门店满300减50",
            "kind": CouponKind.THRESHOLD,
            "threshold_amount": 30_000,
            "discount_amount": 5_000,
            "channels": ["store"],
            "valid_days": 15,
            "per_customer_limit": 1,
            **relative,
        },
        GOLD: {
            "name": "金卡专享 满99减20",
            "kind": CouponKind.THRESHOLD,
            "threshold_amount": 9_900,
            "discount_amount": 2_000,
            "valid_days": 14,
            "per_customer_limit": 1,
            "min_tier_rank": GOLD_RANK,
            "in_coupon_centre": True,
            **relative,
        },
        BIRTHDAY: {
            "name": "黑金生日券 ¥100 无门槛",
            "kind": CouponKind.NO_THRESHOLD,
            "discount_amount": 10_000,
            "valid_days": 30,
            **relative,
        },
        MALL_FIVE: {
            "name": "积分兑换 ¥5 无门槛",
            "kind": CouponKind.NO_THRESHOLD,
            "discount_amount": 500,
            "channels": ["mall"],
            "valid_days": 30,
            **relative,
        },
    }


def create_templates(session: Session, ctx: Context) -> None:
    for key, spec in _specs(ctx).items():
        template = templates.create(session, ctx.actor, TemplateIn(**spec))
        templates.transition(session, ctx.actor, template.id, "activate")
        ctx.templates[key] = (template.id, template.public_id)


def _claimer(key: str, customer_id: int) -> Step:
    def run(session: Session, ctx: Context) -> None:
        issuing.claim(session, ctx.templates[key][1], customer_id, via_link=False)
        ctx.counts[f"claimed:{key}"] += 1

    return run


def _granter(customer_ids: list[int]) -> Step:
    def run(session: Session, ctx: Context) -> None:
        text = "customer_id\n" + "\n".join(str(customer_id) for customer_id in customer_ids)
        result = grants.grant(session, ctx.actor, ctx.templates[SHIPPING][0], text)
        ctx.counts[f"granted:{SHIPPING}"] += result.issued

    return run


def _sender(guide: Principal, customer_id: int, slot: int, codes: dict[int, str]) -> Step:
    def run(session: Session, ctx: Context) -> None:
        coupon = grants.send(session, guide, ctx.templates[STORE][0], customer_id)
        codes[slot] = coupon.code
        ctx.counts[f"sent:{STORE}"] += 1

    return run


def _writer_off(guide: Principal, slot: int, codes: dict[int, str]) -> Step:
    def run(session: Session, ctx: Context) -> None:
        code = codes.get(slot)
        if code is None or guide.store_id is None:
            return
        writeoff.write_off(session, guide, code, guide.store_id)
        ctx.counts["written_off"] += 1

    return run


def _gold_claim(session: Session, ctx: Context) -> None:
    """A member who is 金卡 or above at this moment takes the tier-only coupon."""
    gold = select(MemberTier.id).where(MemberTier.rank >= GOLD_RANK)
    customer_id = pick(
        session,
        ctx.rng,
        Membership.customer_id,
        Membership.customer_id,
        Membership.tier_id.in_(gold),
    )
    if customer_id is None:
        return
    issuing.claim(session, ctx.templates[GOLD][1], customer_id, via_link=False)
    ctx.counts[f"claimed:{GOLD}"] += 1


def _moment(ctx: Context, earliest: datetime, latest: datetime) -> datetime:
    span = max((latest - earliest).total_seconds(), 60.0)
    return earliest + timedelta(seconds=ctx.rng.uniform(0, span))


def _guides(session: Session) -> dict[int, Principal]:
    staff = session.scalars(
        select(Staff)
        .join(StaffRole, StaffRole.staff_id == Staff.id)
        .where(StaffRole.role == Role.GUIDE, Staff.is_active.is_(True), Staff.store_id.is_not(None))
        .options(selectinload(Staff.roles))
        .order_by(Staff.id)
    ).all()
    return {
        member.id: principal_for_staff(member, via=AuthMethod.SYSTEM, ip=None) for member in staff
    }


def plan(session: Session, ctx: Context) -> list[Action]:
    """The coupon moments: claims, a grant, guides' sends and write-offs."""
    rng, now = ctx.rng, ctx.now
    month_start, _ = _month_bounds(now)
    month_start = max(month_start, ctx.start)
    recent = now - timedelta(days=30)
    actions: list[Action] = []
    people = session.execute(
        select(Customer.id, Customer.created_at, Customer.guide_id).order_by(Customer.id)
    ).all()
    arrivals = [(cid, created) for cid, created, _ in people if created >= recent]
    for customer_id, created in arrivals:
        if rng.random() < 0.25:
            at = created + timedelta(minutes=rng.uniform(1, 60))
            if at < now:
                actions.append(Action(at, "claim", _claimer(NEW_USER, customer_id)))
    known = [(cid, created) for cid, created, _ in people if created < now - timedelta(hours=1)]
    for customer_id, created in rng.sample(known, min(len(known), ctx.scaled(800, 20))):
        at = _moment(ctx, max(month_start, created), now - timedelta(minutes=30))
        actions.append(Action(at, "claim", _claimer(MONTHLY, customer_id)))
        if rng.random() < 0.3 and at + timedelta(days=1) < now:
            again = _moment(ctx, at + timedelta(days=1), now - timedelta(minutes=30))
            actions.append(Action(again, "claim", _claimer(MONTHLY, customer_id)))
    for customer_id, created in rng.sample(known, min(len(known), ctx.scaled(500, 15))):
        at = _moment(ctx, max(recent, created), now - timedelta(minutes=30))
        actions.append(Action(at, "claim", _claimer(PERCENT, customer_id)))
    for _ in range(ctx.scaled(300, 6)):
        actions.append(Action(_moment(ctx, recent, now), "claim", _gold_claim))
    actions.extend(_grant_and_store(session, ctx, people))
    return actions


def _grant_and_store(session: Session, ctx: Context, people: Sequence[Any]) -> list[Action]:
    rng, now = ctx.rng, ctx.now
    actions: list[Action] = []
    granted_at = now - timedelta(days=10)
    buyers = sorted(
        set(
            session.scalars(
                select(Order.customer_id).where(
                    Order.paid_at >= now - timedelta(days=40), Order.paid_at < granted_at
                )
            )
        )
    )
    if buyers:
        chosen = sorted(rng.sample(buyers, min(len(buyers), ctx.scaled(1_500, 20))))
        actions.append(Action(granted_at, "grant", _granter(chosen)))
    guides = _guides(session)
    followers = [
        (cid, created, guide_id) for cid, created, guide_id in people if guide_id in guides
    ]
    codes: dict[int, str] = {}
    for slot, (customer_id, created, guide_id) in enumerate(
        rng.sample(followers, min(len(followers), ctx.scaled(600, 12)))
    ):
        sent = _moment(ctx, max(now - timedelta(days=40), created), now - timedelta(hours=2))
        guide = guides[guide_id]
        actions.append(Action(sent, "send", _sender(guide, customer_id, slot, codes)))
        used = sent + timedelta(hours=rng.uniform(1, 240))
        if rng.random() < 0.6 and used < now:
            actions.append(Action(used, "write_off", _writer_off(guide, slot, codes)))
    return actions


def expire(session: Session, ctx: Context, at: datetime) -> int:
    """The daily expiry job's work at ``at``: coupons past their end become expired."""
    expired = expiry.expire_due(session, now=at)
    ctx.counts["expired"] += expired
    return expired
