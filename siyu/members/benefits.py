"""Member day, birthday and membership-anniversary benefits (issue 5 §5).

What the program's ``member_day`` / ``birthday`` / ``anniversary`` settings (owned by
``siyu.members.program``) *do*:

* On the member day (a day of the month in the member's own calendar) points earned
  are multiplied (``points_multiplier_for``, called by the points earn handler) and a
  coupon is granted to every member.
* On the birthday (29 February birthdays fall on 28 February in other years) and the
  anniversary of joining (one year or more) the configured points and coupon are
  granted, plus the tier's ``birthday_points`` / ``birthday_coupon_template_id``.

Every grant claims its period first with one insert-or-nothing on the unique key
``benefit_grant (customer_id, kind, period)``: the winner gives, a re-run or a racing
worker inserts nothing and gives nothing, so nobody is ever granted twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.core import clock, outbox
from siyu.core.db import dialect_insert
from siyu.core.errors import SiyuError
from siyu.core.settings import current as current_settings
from siyu.coupons import issuing
from siyu.members import program
from siyu.models.coupon import CouponSource
from siyu.models.customer import Customer
from siyu.models.member import BenefitGrant, BenefitKind, Membership, MemberTier

BENEFIT_GRANTED = "member.benefit_granted"
NO_MULTIPLIER = 100
NO_DISCOUNT = 10000
DEFAULT_BATCH_SIZE = 500


@cache
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_of(name: str | None) -> ZoneInfo:
    """The member's zone; the shop's zone when unknown (a bad name never breaks a run)."""
    found = _zone(name) if name else None
    return found or current_settings().tzinfo


def local_date(at: datetime, timezone: str | None) -> date:
    return at.astimezone(zone_of(timezone)).date()


def _program(session: Session) -> program.ProgramConfig:
    return program.current(session)


def _member_timezone(session: Session, customer_id: int) -> str | None:
    return session.scalar(select(Membership.timezone).where(Membership.customer_id == customer_id))


def is_member_day(session: Session, customer_id: int, at: datetime) -> bool:
    config = _program(session).member_day
    if not config.enabled:
        return False
    return bool(local_date(at, _member_timezone(session, customer_id)).day == config.day_of_month)


def points_multiplier_for(session: Session, customer_id: int, at: datetime) -> int:
    """Percent applied to points earned at ``at``: the member-day multiplier on the
    member day in the member's own time zone, else 100."""
    if not is_member_day(session, customer_id, at):
        return NO_MULTIPLIER
    return int(_program(session).member_day.points_multiplier)


def member_day_discount_rate(session: Session, customer_id: int, at: datetime) -> int:
    """Basis points paid on the member day (10000 = no discount); for the tier step."""
    if not is_member_day(session, customer_id, at):
        return NO_DISCOUNT
    return int(_program(session).member_day.discount_rate)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def falls_on(anniversary: date, today: date) -> bool:
    """Whether a yearly date (birthday, joining day) is celebrated ``today``: 29
    February is celebrated on 28 February in years without one."""
    if (anniversary.month, anniversary.day) == (today.month, today.day):
        return True
    return (
        (anniversary.month, anniversary.day) == (2, 29)
        and (today.month, today.day) == (2, 28)
        and not _is_leap(today.year)
    )


@dataclass(frozen=True)
class Due:
    kind: BenefitKind
    period: str


def due_benefits(
    config: program.ProgramConfig,
    today: date,
    *,
    birthday: date | None,
    joined_on: date,
    tier_has_gift: bool,
) -> list[Due]:
    """Which benefits a member with this calendar is owed on ``today`` (local date).
    A benefit that would give nothing is not due: no grant row, no event."""
    due: list[Due] = []
    birthday_gift = tier_has_gift or (
        config.birthday.enabled
        and bool(config.birthday.points or config.birthday.coupon_template_id)
    )
    if birthday is not None and birthday_gift and falls_on(birthday, today):
        due.append(Due(BenefitKind.BIRTHDAY, str(today.year)))
    anniversary = config.anniversary
    if (
        anniversary.enabled
        and (anniversary.points or anniversary.coupon_template_id)
        and today.year > joined_on.year
        and falls_on(joined_on, today)
    ):
        due.append(Due(BenefitKind.ANNIVERSARY, str(today.year)))
    member_day = config.member_day
    if (
        member_day.enabled
        and member_day.coupon_template_id
        and today.day == member_day.day_of_month
    ):
        due.append(Due(BenefitKind.MEMBER_DAY, f"{today.year}-{today.month:02d}"))
    return due


def _anything_to_give(config: program.ProgramConfig, tiers: dict[int, MemberTier]) -> bool:
    """False when no benefit is configured: the run then skips the member scan."""
    return bool(
        (config.birthday.enabled and (config.birthday.points or config.birthday.coupon_template_id))
        or any(tier.birthday_points or tier.birthday_coupon_template_id for tier in tiers.values())
        or (
            config.anniversary.enabled
            and (config.anniversary.points or config.anniversary.coupon_template_id)
        )
        or (config.member_day.enabled and config.member_day.coupon_template_id)
    )


@dataclass
class RunResult:
    scanned: int = 0
    granted: dict[str, int] = field(default_factory=dict)
    last_customer_id: int = 0
    done: bool = True


def _claim(
    session: Session, customer_id: int, due: Due, today: date, now: datetime
) -> BenefitGrant | None:
    """Insert the grant row or nothing: only the caller that inserted it gives."""
    grant_id = session.execute(
        dialect_insert(session, BenefitGrant)
        .values(
            customer_id=customer_id,
            kind=due.kind.value,
            period=due.period,
            detail={},
            local_date=today,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["customer_id", "kind", "period"])
        .returning(BenefitGrant.id)
    ).scalar_one_or_none()
    if grant_id is None:
        return None
    return session.get(BenefitGrant, grant_id)


def _what_to_give(
    config: program.ProgramConfig, kind: BenefitKind, tier: MemberTier | None
) -> tuple[int, list[int]]:
    if kind == BenefitKind.MEMBER_DAY:
        template = config.member_day.coupon_template_id
        return 0, [template] if template else []
    section = config.birthday if kind == BenefitKind.BIRTHDAY else config.anniversary
    amount = int(section.points) if section.enabled else 0
    templates = (
        [section.coupon_template_id] if section.enabled and section.coupon_template_id else []
    )
    if kind == BenefitKind.BIRTHDAY and tier is not None:
        amount += tier.birthday_points
        if tier.birthday_coupon_template_id:
            templates.append(tier.birthday_coupon_template_id)
    return amount, templates


def _give(
    session: Session,
    customer_id: int,
    grant: BenefitGrant,
    config: program.ProgramConfig,
    tier: MemberTier | None,
) -> None:
    # Imported here: the points module calls ``points_multiplier_for`` on earn, so a
    # module-level import would be circular.
    from siyu.members import points

    kind = BenefitKind(grant.kind)
    amount, templates = _what_to_give(config, kind, tier)
    reference = f"benefit:{kind.value}:{grant.period}"
    detail: dict[str, Any] = {"points": 0, "coupon_ids": [], "coupon_errors": []}
    if amount > 0:
        entry = points.earn(
            session, customer_id, amount, reference=reference, reason=f"{kind.value} benefit"
        )
        detail["points"] = amount if entry is not None else 0
    for template_id in templates:
        # A coupon that cannot be issued (sold out, template ended) must not take the
        # points with it: each issue runs in its own savepoint and the failure is kept.
        try:
            with session.begin_nested():
                coupon = issuing.issue(
                    session,
                    template_id,
                    customer_id,
                    source=CouponSource.BENEFIT,
                    source_ref=reference,
                    enforce_customer_limits=False,
                )
            detail["coupon_ids"].append(coupon.id)
        except SiyuError as error:
            detail["coupon_errors"].append({"template_id": template_id, "code": error.code})
    session.execute(update(BenefitGrant).where(BenefitGrant.id == grant.id).values(detail=detail))
    outbox.emit(
        session,
        BENEFIT_GRANTED,
        {
            "customer_id": customer_id,
            "kind": kind.value,
            "period": grant.period,
            "local_date": grant.local_date.isoformat(),
            "points": detail["points"],
            "coupon_ids": detail["coupon_ids"],
        },
    )


def run_batch(
    session: Session,
    *,
    at: datetime | None = None,
    after: int = 0,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> RunResult:
    """Grant what is due at ``at`` to the next ``batch_size`` members after customer id
    ``after`` (keyset order); ``done`` is False while members remain."""
    now = at or clock.now()
    config = _program(session)
    tiers = {tier.id: tier for tier in session.scalars(select(MemberTier))}
    if not _anything_to_give(config, tiers):
        return RunResult()
    rows = session.execute(
        select(
            Membership.customer_id,
            Membership.timezone,
            Membership.joined_at,
            Membership.tier_id,
            Customer.birthday,
        )
        .join(Customer, Customer.id == Membership.customer_id)
        .where(Membership.customer_id > after)
        .order_by(Membership.customer_id)
        .limit(batch_size)
    ).all()
    result = RunResult(scanned=len(rows), done=len(rows) < batch_size)
    if rows:
        result.last_customer_id = rows[-1].customer_id
    for row in rows:
        today = local_date(now, row.timezone)
        tier = tiers.get(row.tier_id)
        tier_has_gift = tier is not None and bool(
            tier.birthday_points or tier.birthday_coupon_template_id
        )
        due_list = due_benefits(
            config,
            today,
            birthday=row.birthday,
            joined_on=local_date(row.joined_at, row.timezone),
            tier_has_gift=tier_has_gift,
        )
        for due in due_list:
            grant = _claim(session, row.customer_id, due, today, now)
            if grant is None:
                continue
            _give(session, row.customer_id, grant, config, tier)
            result.granted[due.kind.value] = result.granted.get(due.kind.value, 0) + 1
    return result


def run_all(
    session: Session, *, at: datetime | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> dict[str, int]:
    """Every batch in one go (tests, the CLI); the job runs one batch per transaction."""
    now = at or clock.now()
    totals: dict[str, int] = {}
    after = 0
    while True:
        result = run_batch(session, at=now, after=after, batch_size=batch_size)
        for kind, number in result.granted.items():
            totals[kind] = totals.get(kind, 0) + number
        if result.done:
            return totals
        after = result.last_customer_id


def recent_grants(
    session: Session, *, kind: str | None = None, customer_id: int | None = None, limit: int = 50
) -> list[BenefitGrant]:
    statement = select(BenefitGrant).order_by(BenefitGrant.id.desc()).limit(min(max(limit, 1), 200))
    if kind:
        statement = statement.where(BenefitGrant.kind == kind)
    if customer_id is not None:
        statement = statement.where(BenefitGrant.customer_id == customer_id)
    return list(session.scalars(statement))


def next_tick(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
