"""The member program's rules: one validated document in ``member_program`` (id 1).

The rules change rarely and are read as a whole (pricing, earn handlers, jobs), so
they are one JSON row rather than a settings table; ``ProgramConfig`` gives every
field a default, so a shop without a saved program runs on sensible rules.
The member-day / birthday / anniversary parts are owned here as data; what they do
is implemented in ``siyu.members.benefits``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.db import cached_for_transaction, store_cached
from siyu.members.errors import ProgramInvalid
from siyu.models.member import MemberProgram
from siyu.staff import audit
from siyu.staff.principal import Principal

PROGRAM_ID = 1
_CACHE_KEY = "siyu.members.program"


class ExpiryPolicy(StrEnum):
    # Points earned in year Y expire at the end of year Y+1 (the shop's time zone).
    END_OF_NEXT_YEAR = "end_of_next_year"
    NEVER = "never"


class _Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RefundPolicy(_Rules):
    # Reverse the points earned on a refunded order, pro rata of the amount refunded.
    # They are still frozen inside the return window, so nothing spendable is clawed.
    reverse_earned: bool = True
    # Give back the points spent on a refunded order, pro rata, as a new lot.
    return_spent: bool = True


class GrowthTasks(_Rules):
    complete_profile: int = Field(default=50, ge=0, le=1_000_000)
    first_wecom_add: int = Field(default=30, ge=0, le=1_000_000)
    review: int = Field(default=10, ge=0, le=1_000_000)


class MemberDayConfig(_Rules):
    enabled: bool = False
    day_of_month: int = Field(default=8, ge=1, le=28)
    # Percent: 200 = double points on that day.
    points_multiplier: int = Field(default=200, ge=100, le=1000)
    coupon_template_id: int | None = None
    # Basis points of the price paid on that day; 10000 = no extra discount.
    discount_rate: int = Field(default=10000, ge=1, le=10000)


class BirthdayConfig(_Rules):
    enabled: bool = False
    points: int = Field(default=0, ge=0, le=1_000_000)
    coupon_template_id: int | None = None


class AnniversaryConfig(_Rules):
    enabled: bool = False
    points: int = Field(default=0, ge=0, le=1_000_000)
    coupon_template_id: int | None = None


class ProgramConfig(_Rules):
    # The program's launch: orders paid before it earn neither growth nor points (a
    # brand that starts its program does not hand out points for last year's orders).
    # None = every order counts.
    counts_from: AwareDatetime | None = None
    growth_per_yuan: int = Field(default=1, ge=0, le=1000)
    growth_tasks: GrowthTasks = Field(default_factory=GrowthTasks)
    points_per_yuan: int = Field(default=1, ge=0, le=1000)
    # Points per yuan of deduction: 100 = 100 points pay ¥1.
    points_value: int = Field(default=100, ge=1, le=100_000)
    # At most this percent of the order's goods may be paid with points.
    spend_cap_percent: int = Field(default=20, ge=0, le=100)
    min_spend_points: int = Field(default=0, ge=0, le=1_000_000)
    expiry_policy: ExpiryPolicy = ExpiryPolicy.END_OF_NEXT_YEAR
    reminder_days: int = Field(default=30, ge=1, le=365)
    review_period_months: int = Field(default=12, ge=1, le=60)
    refund_policy: RefundPolicy = Field(default_factory=RefundPolicy)
    member_day: MemberDayConfig = Field(default_factory=MemberDayConfig)
    birthday: BirthdayConfig = Field(default_factory=BirthdayConfig)
    anniversary: AnniversaryConfig = Field(default_factory=AnniversaryConfig)


def current(session: Session) -> ProgramConfig:
    """The rules in force, read once per transaction (a save replaces the cached copy)."""

    def read() -> ProgramConfig:
        row = session.get(MemberProgram, PROGRAM_ID)
        return ProgramConfig.model_validate(row.config) if row is not None else ProgramConfig()

    return cached_for_transaction(session, _CACHE_KEY, read)


def validate(data: dict[str, Any]) -> ProgramConfig:
    try:
        return ProgramConfig.model_validate(data)
    except ValidationError as error:
        raise ProgramInvalid(
            data={"errors": [{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()]}
        ) from error


def save(session: Session, principal: Principal, config: ProgramConfig) -> ProgramConfig:
    now = clock.now()
    document = config.model_dump(mode="json")
    row = session.get(MemberProgram, PROGRAM_ID)
    before = row.config if row is not None else None
    if row is None:
        session.add(
            MemberProgram(
                id=PROGRAM_ID, config=document, updated_at=now, updated_by=principal.username
            )
        )
    else:
        row.config = document
        row.updated_at = now
        row.updated_by = principal.username[:64]
    session.flush()
    store_cached(session, _CACHE_KEY, config)
    audit.record(
        session,
        principal,
        "members.program.update",
        target_type="member_program",
        target_id=PROGRAM_ID,
        detail={"before": before, "after": document},
    )
    # The daily member jobs start (or restart) with the program.
    from siyu.members import schedule

    schedule.ensure_daily(session)
    return config
