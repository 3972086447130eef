"""Walk the demo's history: replayed order events and the offers' actions, merged in
time order, with the clock frozen at each one's moment.

Work is committed every ``CHUNK`` steps. The phase starts only when no tier exists
(checked in the first transaction), so a second ``siyu demo`` adds nothing; an
action the services refuse (a limit reached, stock gone) is counted and skipped,
as it would be for a real shopper.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu import handlers as registry
from siyu.core import clock
from siyu.core.clock import Clock, FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.demo.offers import checkouts, coupons, points_mall, program, replay
from siyu.demo.offers.context import Action, Context
from siyu.models.coupon import Coupon, CouponStatus, CouponTemplate
from siyu.models.customer import Customer
from siyu.models.member import Membership, MemberTier
from siyu.models.outbox import OutboxEvent, OutboxStatus
from siyu.orders.payments.sandbox import SandboxProvider
from siyu.staff.principal import command_line_principal

DEFAULT_SEED = 42
# Steps (events or actions) per transaction: small enough to keep SQLite's write
# lock short, large enough that commits are a small part of the time.
CHUNK = 2_000
PHASE = "offers"

Progress = Callable[[str, int, int], None]


@dataclass
class OffersSummary:
    tiers: dict[str, int]
    events_replayed: int
    replay_seconds: float
    coupons_issued: int
    coupons_used_on_orders: int
    coupons_written_off: int
    coupons_expired: int
    checkouts: int
    exchanges: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)


def run(
    factory: sessionmaker[Session], settings: Settings, *, seed: int, progress: Progress
) -> OffersSummary | None:
    # Handlers, pricing steps and placement hooks register when their modules load.
    registry.load_all()
    started = time.perf_counter()
    frozen = FrozenClock(clock.now())
    previous = clock.install(frozen)
    try:
        return _run(factory, settings, seed, progress, frozen, previous, started)
    finally:
        clock.install(previous)


def _first_moment(session: Session, now: datetime) -> datetime:
    first = session.scalar(
        select(func.min(OutboxEvent.occurred_at)).where(
            OutboxEvent.status == OutboxStatus.PENDING, OutboxEvent.name.in_(replay.REPLAYED)
        )
    )
    return (first or now) - timedelta(days=1)


def _run(
    factory: sessionmaker[Session],
    settings: Settings,
    seed: int,
    progress: Progress,
    frozen: FrozenClock,
    previous: Clock,
    started: float,
) -> OffersSummary | None:
    now = frozen.now()
    key = settings.resolved_secret_key()
    with factory() as session, session.begin():
        if program.has_program(session):
            return None
        start = _first_moment(session, now)
        frozen.set(start)
        ctx = Context(
            settings=settings,
            clock=frozen,
            rng=random.Random(seed),
            actor=command_line_principal("demo-setup"),
            now=now,
            start=start,
            customers=_customer_count(session),
            cipher=PiiCipher(key),
            sandbox=SandboxProvider(key),
        )
        coupons.create_templates(session, ctx)
        ladder = program.create_ladder(
            session, ctx.actor, black_birthday_template_id=ctx.templates[coupons.BIRTHDAY][0]
        )
        ctx.tier_ids = {code: tier.id for code, tier in ladder.items()}
        launch = program.save_rules(session, ctx.actor, now=now).counts_from
        assert launch is not None
        ceiling = replay.ceiling(session)
        history = replay.count_history(session, ceiling, launch)
        actions = coupons.plan(session, ctx) + checkouts.plan(session, ctx)
        actions += points_mall.plan(ctx)
    actions.sort(key=lambda action: action.at)
    walker = replay.Replay(frozen, ceiling, launch)
    _walk(factory, ctx, walker, actions, history + len(actions), progress)
    with factory() as session, session.begin():
        coupons.expire(session, ctx, previous.now())
        summary = _summary(session, ctx, walker, time.perf_counter() - started)
    progress(PHASE, history + len(actions), history + len(actions))
    return summary


def _customer_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Customer)) or 0)


def _walk(
    factory: sessionmaker[Session],
    ctx: Context,
    walker: replay.Replay,
    actions: list[Action],
    total: int,
    progress: Progress,
) -> None:
    done = index = 0
    session = factory()
    try:
        while True:
            event_at = walker.next_at(session)
            if index < len(actions) and (event_at is None or actions[index].at <= event_at):
                _act(session, ctx, actions[index])
                index += 1
                walker.handle_own(session)
            elif event_at is not None:
                began = time.perf_counter()
                walker.handle_next(session)
                walker.seconds += time.perf_counter() - began
            else:
                break
            done += 1
            if done % CHUNK == 0:
                session.commit()
                progress(PHASE, done, total)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _act(session: Session, ctx: Context, action: Action) -> None:
    ctx.clock.set(action.at)
    try:
        with session.begin_nested():
            action.run(session, ctx)
    except SiyuError as error:
        # The services said no (limit reached, sold out …): so would a real shopper.
        ctx.counts[f"refused:{action.kind}:{error.code}"] += 1


def _summary(
    session: Session, ctx: Context, walker: replay.Replay, seconds: float
) -> OffersSummary:
    tiers = {
        name: int(count)
        for name, count in session.execute(
            select(MemberTier.name, func.count(Membership.customer_id))
            .outerjoin(Membership, Membership.tier_id == MemberTier.id)
            .group_by(MemberTier.id, MemberTier.name, MemberTier.rank)
            .order_by(MemberTier.rank)
        )
    }
    by_status = dict(
        session.execute(select(Coupon.status, func.count()).group_by(Coupon.status)).all()
    )
    on_orders = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.status == CouponStatus.USED, Coupon.order_id.is_not(None))
    )
    at_stores = session.scalar(
        select(func.count())
        .select_from(Coupon)
        .where(Coupon.status == CouponStatus.USED, Coupon.used_store_id.is_not(None))
    )
    return OffersSummary(
        tiers=tiers,
        events_replayed=walker.handled,
        replay_seconds=walker.seconds,
        coupons_issued=int(
            session.scalar(select(func.coalesce(func.sum(CouponTemplate.issued_count), 0))) or 0
        ),
        coupons_used_on_orders=int(on_orders or 0),
        coupons_written_off=int(at_stores or 0),
        coupons_expired=int(by_status.get(CouponStatus.EXPIRED, 0)),
        checkouts=ctx.counts["checkouts"],
        exchanges=ctx.counts["exchanges"],
        seconds=seconds,
        counts=dict(sorted(ctx.counts.items())),
    )
