"""Daily jobs: ``coupon.expire`` (available past its end → expired, ``coupon.expired``)
and ``coupon.remind`` (``coupon.expiring`` once per coupon, N days before its end).

Both re-enqueue themselves for the next day under an idempotency key naming that
day, so however many workers run there is one run per day; activating a template
(re)starts the chain (``schedule``). Each coupon changes with a conditional UPDATE on
its status (or ``reminded_at IS NULL``), so a run repeated after a crash does nothing
twice.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.core import clock, jobs, outbox
from siyu.core import settings as settings_module
from siyu.core.db import rowcount
from siyu.models.coupon import Coupon, CouponStatus

EXPIRE_TASK = "coupon.expire"
REMIND_TASK = "coupon.remind"
COUPON_EXPIRED = "coupon.expired"
COUPON_EXPIRING = "coupon.expiring"
REMIND_DAYS_BEFORE = 3
BATCH = 1000
# Run at 00:05 shop time: just after the day turns, before anyone shops.
RUN_AT = time(0, 5)


def next_run(now: datetime) -> datetime:
    zone = settings_module.current().tzinfo
    local = now.astimezone(zone)
    candidate = datetime.combine(local.date(), RUN_AT, tzinfo=zone)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(now.tzinfo)


def schedule(session: Session, *, at: datetime | None = None) -> None:
    run_at = at or next_run(clock.now())
    for task in (EXPIRE_TASK, REMIND_TASK):
        jobs.enqueue(
            session, task, {}, run_at=run_at, idempotency_key=f"{task}:{run_at.isoformat()}"
        )


def expire_due(session: Session, *, now: datetime | None = None) -> int:
    now = now or clock.now()
    expired = 0
    while True:
        rows = session.execute(
            select(Coupon.id, Coupon.template_id, Coupon.customer_id)
            .where(Coupon.status == CouponStatus.AVAILABLE, Coupon.valid_until <= now)
            .order_by(Coupon.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return expired
        for coupon_id, template_id, customer_id in rows:
            matched = session.execute(
                update(Coupon)
                .where(Coupon.id == coupon_id, Coupon.status == CouponStatus.AVAILABLE)
                .values(status=CouponStatus.EXPIRED, expired_at=now)
                .execution_options(synchronize_session=False)
            )
            if rowcount(matched) == 1:
                expired += 1
                outbox.emit(
                    session,
                    COUPON_EXPIRED,
                    {
                        "coupon_id": coupon_id,
                        "template_id": template_id,
                        "customer_id": customer_id,
                    },
                )


def remind_due(
    session: Session, *, now: datetime | None = None, days_before: int = REMIND_DAYS_BEFORE
) -> int:
    now = now or clock.now()
    horizon = now + timedelta(days=days_before)
    reminded = 0
    while True:
        rows = session.execute(
            select(Coupon.id, Coupon.template_id, Coupon.customer_id, Coupon.valid_until)
            .where(
                Coupon.status == CouponStatus.AVAILABLE,
                Coupon.reminded_at.is_(None),
                Coupon.valid_until > now,
                Coupon.valid_until <= horizon,
            )
            .order_by(Coupon.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return reminded
        for coupon_id, template_id, customer_id, valid_until in rows:
            matched = session.execute(
                update(Coupon)
                .where(Coupon.id == coupon_id, Coupon.reminded_at.is_(None))
                .values(reminded_at=now)
                .execution_options(synchronize_session=False)
            )
            if rowcount(matched) == 1:
                reminded += 1
                outbox.emit(
                    session,
                    COUPON_EXPIRING,
                    {
                        "coupon_id": coupon_id,
                        "template_id": template_id,
                        "customer_id": customer_id,
                        "valid_until": valid_until.isoformat(),
                    },
                )


@jobs.task(EXPIRE_TASK, max_attempts=5)
def run_expire(session: Session, _payload: dict[str, Any]) -> None:
    now = clock.now()
    expire_due(session, now=now)
    schedule(session, at=next_run(now + timedelta(minutes=1)))


@jobs.task(REMIND_TASK, max_attempts=5)
def run_remind(session: Session, _payload: dict[str, Any]) -> None:
    remind_due(session, now=clock.now())
