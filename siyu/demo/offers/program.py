"""The demo member program: a four-tier ladder and the program rules.

Thresholds are set against what the demo brand's buyers spend in the 45 days since
the program's launch (median ¥419, p75 ¥748, p90 ¥1,305, p99 ¥2,851 with the
defaults, one growth point per yuan): most members stay 普通会员, about a third reach
银卡, several percent 金卡 and well under one percent 黑金.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.members import program, tiers
from siyu.members.schemas import TierIn
from siyu.models.member import MemberTier
from siyu.staff.principal import Principal

# (code, name, name_en, growth threshold, discount ‱ paid, points %, free shipping from)
LADDER: tuple[tuple[str, str, str, int, int, int, int | None], ...] = (
    ("regular", "普通会员", "Member", 0, 10_000, 100, None),
    ("silver", "银卡", "Silver", 600, 9_800, 120, 6_900),
    ("gold", "金卡", "Gold", 1_500, 9_500, 150, 0),
    ("black", "黑金", "Black Gold", 4_000, 9_000, 200, 0),
)
BIRTHDAY_POINTS = {"gold": 300, "black": 1_000}
GOLD_RANK = 2
MEMBER_DAY = 8
# The program started this many days before "now": older orders earn nothing, as in a
# brand that launches its membership after trading for a while. It also keeps the
# demo's replay of order events short (docs/demo.md).
LAUNCH_DAYS = 45


def has_program(session: Session) -> bool:
    """Tiers exist: the demo program (or an operator's own) is already there."""
    return bool(session.scalar(select(func.count()).select_from(MemberTier)))


def create_ladder(
    session: Session, actor: Principal, *, black_birthday_template_id: int
) -> dict[str, MemberTier]:
    created: dict[str, MemberTier] = {}
    for rank, (code, name, name_en, threshold, rate, multiplier, shipping) in enumerate(LADDER):
        created[code] = tiers.create(
            session,
            actor,
            TierIn(
                code=code,
                name=name,
                name_en=name_en,
                rank=rank,
                growth_threshold=threshold,
                discount_rate=rate,
                points_multiplier=multiplier,
                free_shipping_threshold=shipping,
                birthday_points=BIRTHDAY_POINTS.get(code, 0),
                birthday_coupon_template_id=(
                    black_birthday_template_id if code == "black" else None
                ),
            ),
        )
    return created


def save_rules(session: Session, actor: Principal, *, now: datetime) -> program.ProgramConfig:
    """Launched ``LAUNCH_DAYS`` ago; member day on the 8th with double points, 200
    birthday points; defaults otherwise."""
    config = program.ProgramConfig(
        counts_from=now - timedelta(days=LAUNCH_DAYS),
        member_day=program.MemberDayConfig(
            enabled=True, day_of_month=MEMBER_DAY, points_multiplier=200
        ),
        birthday=program.BirthdayConfig(enabled=True, points=200),
    )
    return program.save(session, actor, config)
