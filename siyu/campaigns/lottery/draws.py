"""Drawing: a chance taken, points paid, a server-side random value, a prize granted.

One draw, inside a savepoint so a refusal (no chances left, too few points) changes
nothing, takes its rows always in this order, so two draws never lock crosswise:

1. the customer's day tally: insert-or-nothing, then ``UPDATE … SET draws = draws + 1
   WHERE draws < :chances`` — racing draws from one customer cannot pass the limit,
   because the second UPDATE waits for the first's row lock on PostgreSQL (and SQLite
   has one writer) and re-checks ``draws < :chances``;
2. the points (``siyu.members.points.spend``: a conditional UPDATE on the balance);
3. the drawn prize's stock: ``UPDATE … SET stock_left = stock_left - 1 WHERE
   stock_left > 0``. A row count of 0 means the prize is gone: the draw falls to
   "thanks" and its record says which prize it pointed at and why. A check-then-act
   would let racers on the last unit all win it;
4. the grant (coupon, points or a goods claim), in a nested savepoint: if it fails
   (the coupon template ran out), the unit goes back and the draw falls to thanks.

The random value is ``secrets.randbelow(10000)`` from the operating system's CSPRNG,
never a seeded generator, and is stored with the prize table's version and hash so an
auditor can replay it (``docs/lottery.md``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.campaigns.lottery import setup
from siyu.campaigns.lottery.errors import NoChancesLeft, PointsInsufficient
from siyu.campaigns.registry import phases
from siyu.core import clock, outbox
from siyu.core.db import dialect_insert, rowcount
from siyu.core.errors import SiyuError
from siyu.coupons import issuing
from siyu.members import benefits, points
from siyu.members.errors import PointsInsufficient as LedgerInsufficient
from siyu.models.base import new_public_id
from siyu.models.campaign import Campaign
from siyu.models.coupon import CouponSource
from siyu.models.lottery import (
    PROBABILITY_SCALE,
    ClaimStatus,
    DrawOutcome,
    Lottery,
    LotteryDraw,
    LotteryPrize,
    LotteryTally,
    PrizeKind,
)

LOTTERY_DRAWN = "lottery.drawn"
ACTOR = "lottery"
THANKS_NAME = "谢谢参与"
OUT_OF_STOCK = "out_of_stock"


def today(now: datetime | None = None) -> date:
    """Chances reset at the shop's local midnight."""
    return issuing.shop_today(now)


def chances_for(session: Session, lottery: Lottery, customer_id: int, at: datetime) -> int:
    """Draws allowed today: the daily chances, plus the extra ones on the member day."""
    extra = lottery.member_day_extra_chances
    if extra and benefits.is_member_day(session, customer_id, at):
        return lottery.chances_per_day + extra
    return lottery.chances_per_day


def used_today(session: Session, lottery_id: int, customer_id: int, day: date) -> int:
    used = session.scalar(
        select(LotteryTally.draws).where(
            LotteryTally.lottery_id == lottery_id,
            LotteryTally.customer_id == customer_id,
            LotteryTally.day == day,
        )
    )
    return int(used or 0)


def _take_chance(
    session: Session, lottery: Lottery, customer_id: int, day: date, chances: int
) -> None:
    session.execute(
        dialect_insert(session, LotteryTally)
        .values(lottery_id=lottery.id, customer_id=customer_id, day=day, draws=0)
        .on_conflict_do_nothing()
    )
    taken = session.execute(
        update(LotteryTally)
        .where(
            LotteryTally.lottery_id == lottery.id,
            LotteryTally.customer_id == customer_id,
            LotteryTally.day == day,
            LotteryTally.draws < chances,
        )
        .values(draws=LotteryTally.draws + 1)
        .execution_options(synchronize_session=False)
    )
    if rowcount(taken) != 1:
        raise NoChancesLeft(data={"chances": chances, "day": day.isoformat()})


def random_value() -> int:
    """A value in [0, 10000) from the operating system's CSPRNG."""
    return secrets.randbelow(PROBABILITY_SCALE)


def pick(prizes: list[LotteryPrize], value: int) -> LotteryPrize | None:
    """The prize whose slice of [0, 10000) holds ``value``: slices in position order,
    each as wide as its probability; past the last slice is the thanks remainder."""
    edge = 0
    for prize in prizes:
        edge += prize.probability
        if value < edge:
            return prize
    return None


def _take_unit(session: Session, prize: LotteryPrize) -> bool:
    taken = session.execute(
        update(LotteryPrize)
        .where(LotteryPrize.id == prize.id, LotteryPrize.stock_left > 0)
        .values(stock_left=LotteryPrize.stock_left - 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(taken) == 1


def _return_unit(session: Session, prize: LotteryPrize) -> None:
    session.execute(
        update(LotteryPrize)
        .where(LotteryPrize.id == prize.id, LotteryPrize.stock_left < LotteryPrize.stock_total)
        .values(stock_left=LotteryPrize.stock_left + 1)
        .execution_options(synchronize_session=False)
    )


def _grant(
    session: Session, campaign: Campaign, prize: LotteryPrize, customer_id: int, public_id: str
) -> dict[str, Any]:
    reference = f"lottery:{public_id}"
    if prize.kind == PrizeKind.COUPON:
        assert prize.coupon_template_id is not None
        coupon = issuing.issue(
            session,
            prize.coupon_template_id,
            customer_id,
            source=CouponSource.AUTO,
            source_ref=reference,
            actor=ACTOR,
            # The draw is the limit: chances and stock decided this customer may have it.
            enforce_customer_limits=False,
        )
        return {"coupon_id": coupon.id, "coupon_code": coupon.code}
    if prize.kind == PrizeKind.POINTS:
        assert prize.points_amount is not None
        entry = points.earn(
            session,
            customer_id,
            prize.points_amount,
            reference=reference,
            reason=f"抽奖 {campaign.name}"[:200],
            actor=ACTOR,
        )
        return {"points": prize.points_amount, "points_entry_id": entry.id if entry else None}
    return {"sku_id": prize.sku_id}


@dataclass(frozen=True)
class DrawResult:
    draw: LotteryDraw
    chances_left: int


def draw(
    session: Session,
    campaign: Campaign,
    customer_id: int,
    *,
    random_source: Callable[[], int] | None = None,
) -> DrawResult:
    """One draw for ``customer_id`` in a live lottery, in the caller's transaction.

    ``random_source`` is for the demo brand only (a seeded generator makes the same
    brand every run); every request uses :func:`random_value`."""
    phases.require_live(campaign)
    lottery = setup.lottery_of(session, campaign)
    now = clock.now()
    day = today(now)
    chances = chances_for(session, lottery, customer_id, now)
    public_id = new_public_id("ldr")
    with session.begin_nested():
        _take_chance(session, lottery, customer_id, day, chances)
        if lottery.points_cost:
            try:
                points.spend(
                    session,
                    customer_id,
                    lottery.points_cost,
                    reference=f"lottery:{public_id}",
                    reason=f"抽奖 {campaign.name}"[:200],
                    actor=ACTOR,
                )
            except LedgerInsufficient as error:
                raise PointsInsufficient(
                    data={**error.data, "points_cost": lottery.points_cost}
                ) from error
        value = (random_source or random_value)()
        prizes = setup.prizes_of(session, lottery.id)
        drawn = pick(prizes, value)
        record = _record(session, campaign, lottery, customer_id, day, now, public_id, value)
        record.drawn_prize_id = drawn.id if drawn is not None else None
        if drawn is not None:
            record.prize_name = drawn.name
        if drawn is not None and drawn.kind != PrizeKind.THANKS:
            _settle(session, campaign, lottery, record, drawn, now)
        session.add(record)
        session.flush()
        outbox.emit(
            session,
            LOTTERY_DRAWN,
            {
                "draw_id": record.id,
                "campaign_id": campaign.id,
                "customer_id": customer_id,
                "outcome": record.outcome,
                "kind": record.kind,
                "prize_id": record.prize_id,
            },
        )
    return DrawResult(record, max(chances - used_today(session, lottery.id, customer_id, day), 0))


def _record(
    session: Session,
    campaign: Campaign,
    lottery: Lottery,
    customer_id: int,
    day: date,
    now: datetime,
    public_id: str,
    value: int,
) -> LotteryDraw:
    return LotteryDraw(
        public_id=public_id,
        lottery_id=lottery.id,
        campaign_id=campaign.id,
        customer_id=customer_id,
        day=day,
        random_value=value,
        prize_table_version=lottery.prize_table_version,
        prize_table_hash=lottery.prize_table_hash,
        outcome=DrawOutcome.THANKS.value,
        kind=PrizeKind.THANKS.value,
        prize_name=THANKS_NAME,
        granted={},
        points_cost=lottery.points_cost,
        value_amount=0,
        created_at=now,
    )


def _settle(
    session: Session,
    campaign: Campaign,
    lottery: Lottery,
    record: LotteryDraw,
    prize: LotteryPrize,
    now: datetime,
) -> None:
    """Take a unit of ``prize`` and grant it, or fall back to thanks saying why."""
    if not _take_unit(session, prize):
        record.outcome = DrawOutcome.FELL_BACK.value
        record.prize_name = THANKS_NAME
        record.fallback_reason = OUT_OF_STOCK
        return
    try:
        with session.begin_nested():
            granted = _grant(session, campaign, prize, record.customer_id, record.public_id)
    except SiyuError as error:
        # The coupon template ran out or was paused: the unit is not lost.
        _return_unit(session, prize)
        record.outcome = DrawOutcome.FELL_BACK.value
        record.prize_name = THANKS_NAME
        record.fallback_reason = error.code[:60]
        return
    record.outcome = DrawOutcome.WON.value
    record.kind = prize.kind
    record.prize_id = prize.id
    record.prize_name = prize.name
    record.granted = granted
    record.value_amount = prize.value_amount
    if prize.kind == PrizeKind.GOODS:
        record.claim_status = ClaimStatus.PENDING.value
        record.claim_deadline = now + timedelta(days=lottery.claim_days)
