"""What the offers phase's steps share: the moment, the randomness, the ids it made,
and the timeline of actions that run between the replayed events."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from siyu.core.clock import FrozenClock
from siyu.core.crypto import PiiCipher
from siyu.core.settings import Settings
from siyu.orders.payments.sandbox import SandboxProvider
from siyu.staff.principal import Principal

# A shopper's delivery address for the phase's checkouts (the sandbox never ships).
DEMO_ADDRESS = {
    "recipient": "演示顾客",
    "phone": "13800000000",
    "region": "上海市 黄浦区",
    "detail": "南京东路 100 号",
}


@dataclass
class Context:
    settings: Settings
    clock: FrozenClock
    rng: random.Random
    actor: Principal
    now: datetime
    start: datetime
    customers: int
    cipher: PiiCipher
    sandbox: SandboxProvider
    # Coupon templates by key: (id, public id).
    templates: dict[str, tuple[int, str]] = field(default_factory=dict)
    tier_ids: dict[str, int] = field(default_factory=dict)
    mall_items: dict[str, int] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def scaled(self, default_count: int, minimum: int) -> int:
        """``default_count`` for the default 50,000 customers, in proportion otherwise."""
        return max(minimum, default_count * self.customers // 50_000)


Step = Callable[[Session, Context], None]


@dataclass(frozen=True)
class Action:
    at: datetime
    kind: str
    run: Step


def pick(
    session: Session,
    rng: random.Random,
    key: InstrumentedAttribute[int],
    value: InstrumentedAttribute[int],
    *conditions: ColumnElement[bool],
) -> int | None:
    """``value`` of a random row matching ``conditions``: the first match at or after a
    random key, wrapping round. It walks the key's index from the pivot instead of
    loading every candidate (tens of thousands of members at 50,000 customers) for
    each of the phase's few hundred checkouts and claims."""
    low, high = session.execute(select(func.min(key), func.max(key))).one()
    if low is None:
        return None
    pivot = rng.randint(int(low), int(high))
    found = session.scalar(select(value).where(key >= pivot, *conditions).order_by(key).limit(1))
    if found is None:
        found = session.scalar(
            select(value).where(key < pivot, *conditions).order_by(key.desc()).limit(1)
        )
    return None if found is None else int(found)
