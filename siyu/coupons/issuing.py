"""Issuing coupons: the one function every path goes through (``issue``).

Races are settled by conditional UPDATEs, never by counting first (DESIGN.md
convention 5): the customer's tally row is bumped only while under the per-customer
and per-day limits, and the template's ``issued_count`` only while below the total
quantity. On PostgreSQL the second of two racing UPDATEs waits for the first's row
lock and re-checks its WHERE clause; on SQLite writers are serialised. Either way
10,000 racing claims on 5,000 coupons issue exactly 5,000.

The tally is taken before the template (customers over their limit never touch the
hot template row), and always in that order, so two claims never lock crosswise.
When the template turns out to be exhausted, the tally bump is undone in the same
transaction: a refused claim changes nothing.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.orm import Session

from siyu.core import clock, outbox
from siyu.core import settings as settings_module
from siyu.core.db import dialect_insert, rowcount
from siyu.coupons.errors import (
    Exhausted,
    LimitReached,
    NotClaimable,
    TemplateNotFound,
    TierRequired,
)
from siyu.customers.errors import CustomerNotFound
from siyu.models.coupon import (
    Coupon,
    CouponSource,
    CouponStatus,
    CouponTally,
    CouponTemplate,
    TemplateStatus,
    ValidityKind,
)
from siyu.models.customer import Customer, CustomerStatus

COUPON_ISSUED = "coupon.issued"
# No 0/O or 1/I: the code is read aloud and typed at the till.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
assert len(CODE_ALPHABET) == 32  # new_code takes 5 random bits a letter
CODE_LENGTH = 12
# The claim window only applies where the customer takes the coupon themselves.
SELF_SERVICE = frozenset({CouponSource.CLAIM, CouponSource.LINK})


def new_code() -> str:
    # 32 letters: the low 5 bits of a random byte pick one uniformly (256 = 8 × 32),
    # at 1 µs a code instead of secrets.choice's 14 µs (a coupon-centre burst).
    return "".join([CODE_ALPHABET[byte & 31] for byte in secrets.token_bytes(CODE_LENGTH)])


def shop_today(now: datetime | None = None) -> date:
    """Today in the shop's time zone: per-day limits reset at local midnight."""
    moment = now or clock.now()
    return moment.astimezone(settings_module.current().tzinfo).date()


def claim_problem(template: CouponTemplate, source: str, now: datetime) -> str | None:
    """Why the template cannot be issued now (None when it can)."""
    if template.status != TemplateStatus.ACTIVE:
        return "inactive"
    if template.validity == ValidityKind.FIXED and (
        template.valid_until is None or template.valid_until <= now
    ):
        return "ended"
    if source in SELF_SERVICE:
        if template.claim_starts_at is not None and now < template.claim_starts_at:
            return "not_started"
        if template.claim_ends_at is not None and now >= template.claim_ends_at:
            return "ended"
    return None


def tier_allows(session: Session, template: CouponTemplate, customer_id: int) -> bool:
    if template.min_tier_rank is None:
        return True
    from siyu.members import memberships

    tier = memberships.tier_of(session, customer_id)
    return tier is not None and tier.rank >= template.min_tier_rank


def validity(template: CouponTemplate, now: datetime) -> tuple[datetime, datetime]:
    """When a coupon of ``template`` claimed at ``now`` is valid."""
    if template.validity == ValidityKind.RELATIVE:
        return now, now + timedelta(days=template.valid_days or 0)
    assert template.valid_until is not None
    return template.valid_from or now, template.valid_until


def _insert_ignore(session: Session, values: dict[str, Any]) -> None:
    session.execute(dialect_insert(session, CouponTally).values(**values).on_conflict_do_nothing())


def _take_tally(
    session: Session, template: CouponTemplate, customer_id: int, today: date, *, enforce: bool
) -> None:
    _insert_ignore(
        session,
        {
            "template_id": template.id,
            "customer_id": customer_id,
            "claimed_total": 0,
            "day": today,
            "claimed_on_day": 0,
        },
    )
    statement = update(CouponTally).where(
        CouponTally.template_id == template.id, CouponTally.customer_id == customer_id
    )
    if enforce and template.per_customer_limit is not None:
        statement = statement.where(CouponTally.claimed_total < template.per_customer_limit)
    if enforce and template.per_day_limit is not None:
        statement = statement.where(
            or_(CouponTally.day != today, CouponTally.claimed_on_day < template.per_day_limit)
        )
    # Every SET expression reads the row as it was, so the day reset and the count agree.
    statement = statement.values(
        claimed_total=CouponTally.claimed_total + 1,
        claimed_on_day=case((CouponTally.day == today, CouponTally.claimed_on_day + 1), else_=1),
        day=today,
    )
    if rowcount(session.execute(statement.execution_options(synchronize_session=False))) == 0:
        raise LimitReached(
            data={
                "template_id": template.id,
                "per_customer_limit": template.per_customer_limit,
                "per_day_limit": template.per_day_limit,
            }
        )


def _give_back_tally(session: Session, template_id: int, customer_id: int, today: date) -> None:
    session.execute(
        update(CouponTally)
        .where(CouponTally.template_id == template_id, CouponTally.customer_id == customer_id)
        .values(
            claimed_total=CouponTally.claimed_total - 1,
            claimed_on_day=case(
                (CouponTally.day == today, CouponTally.claimed_on_day - 1),
                else_=CouponTally.claimed_on_day,
            ),
        )
        .execution_options(synchronize_session=False)
    )
    # A row created by this very claim leaves no trace.
    session.execute(
        delete(CouponTally)
        .where(
            CouponTally.template_id == template_id,
            CouponTally.customer_id == customer_id,
            CouponTally.claimed_total == 0,
        )
        .execution_options(synchronize_session=False)
    )


def _take_from_template(session: Session, template: CouponTemplate) -> bool:
    result = session.execute(
        update(CouponTemplate)
        .where(
            CouponTemplate.id == template.id,
            CouponTemplate.status == TemplateStatus.ACTIVE,
            or_(
                CouponTemplate.total_quantity.is_(None),
                CouponTemplate.issued_count < CouponTemplate.total_quantity,
            ),
        )
        .values(issued_count=CouponTemplate.issued_count + 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def issue(
    session: Session,
    template_id: int,
    customer_id: int,
    *,
    source: CouponSource,
    source_ref: str | None = None,
    actor: str = "system",
    enforce_customer_limits: bool = True,
) -> Coupon:
    """Issue one coupon of ``template_id`` to ``customer_id`` in the caller's transaction.

    Refusals (``coupon.not_claimable``, ``coupon.tier_required``,
    ``coupon.limit_reached``, ``coupon.exhausted``) leave nothing changed. With
    ``enforce_customer_limits=False`` (a benefit that is its own limit, e.g. a birthday
    once a year) the tier and per-customer/per-day limits are not checked — the claim
    still counts in the tally — but the total quantity always applies.
    """
    template = session.get(CouponTemplate, template_id)
    if template is None:
        raise TemplateNotFound(data={"template_id": template_id})
    now = clock.now()
    problem = claim_problem(template, source, now)
    if problem is not None:
        raise NotClaimable(data={"template_id": template_id, "reason": problem})
    customer = session.get(Customer, customer_id)
    if customer is None or customer.status != CustomerStatus.ACTIVE:
        raise CustomerNotFound(data={"customer_id": customer_id})
    if enforce_customer_limits and not tier_allows(session, template, customer_id):
        raise TierRequired(
            data={"template_id": template_id, "min_tier_rank": template.min_tier_rank}
        )
    # Fast path for a sold-out burst: ``issued_count`` only grows, so a plain read that
    # already shows the total reached is final, and the claim need not queue for the
    # template row's lock. A stale read that shows room falls through to the
    # conditional UPDATE below, which decides.
    if template.total_quantity is not None and template.issued_count >= template.total_quantity:
        raise Exhausted(data={"template_id": template_id})
    today = shop_today(now)
    _take_tally(session, template, customer_id, today, enforce=enforce_customer_limits)
    if not _take_from_template(session, template):
        _give_back_tally(session, template.id, customer_id, today)
        session.refresh(template)
        if template.status != TemplateStatus.ACTIVE:
            raise NotClaimable(data={"template_id": template_id, "reason": "inactive"})
        raise Exhausted(data={"template_id": template_id})
    valid_from, valid_until = validity(template, now)
    coupon = Coupon(
        code=new_code(),
        template_id=template.id,
        customer_id=customer_id,
        status=CouponStatus.AVAILABLE,
        source=source.value,
        source_ref=source_ref[:80] if source_ref else None,
        issued_by=actor[:64],
        valid_from=valid_from,
        valid_until=valid_until,
        claimed_at=now,
        discount_amount=0,
    )
    session.add(coupon)
    session.flush()
    outbox.emit(
        session,
        COUPON_ISSUED,
        {
            "coupon_id": coupon.id,
            "template_id": template.id,
            "customer_id": customer_id,
            "source": source.value,
            "valid_until": valid_until.isoformat(),
        },
    )
    return coupon


def claim(session: Session, public_id: str, customer_id: int, *, via_link: bool) -> Coupon:
    """A customer takes a coupon: from the coupon centre (only templates listed there)
    or from a share link (any active template)."""
    template = session.scalars(
        select(CouponTemplate).where(CouponTemplate.public_id == public_id)
    ).first()
    if template is None or (not via_link and not template.in_coupon_centre):
        raise TemplateNotFound(data={"template_id": public_id})
    return issue(
        session,
        template.id,
        customer_id,
        source=CouponSource.LINK if via_link else CouponSource.CLAIM,
        actor="customer",
    )
