"""Shared set-up for the customer 360 tests (no tests here).

Cheap password hashing for speed, and the cast of staff and customers the tests use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock, security
from siyu.customers.identify import IdentityInput
from siyu.models.customer import Customer
from siyu.models.outbox import OutboxEvent
from siyu.models.staff import AuditLog, Role, Staff
from siyu.models.tracking import TrackedEvent
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff, make_token


@pytest.fixture
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here makes six staff members; argon2's real cost (≈0.3 s per hash on a
    busy machine) is not what these tests are about. Hashes stay verifiable."""
    monkeypatch.setattr(
        security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Cast:
    """Staff of every role, with API tokens, and two guides' customers."""

    admin: Staff
    operator: Staff
    analyst: Staff
    integration: Staff
    guide: Staff
    other_guide: Staff
    tokens: dict[str, str]
    mine: Customer
    theirs: Customer

    def headers(self, who: str) -> dict[str, str]:
        return bearer(self.tokens[who])


def make_cast(session: Session) -> Cast:
    cipher = make_cipher()
    staff = {
        "admin": make_staff(session, roles=[Role.ADMIN]),
        "operator": make_staff(session, roles=[Role.OPERATOR]),
        "analyst": make_staff(session, roles=[Role.ANALYST]),
        "integration": make_staff(session, roles=[Role.INTEGRATION]),
        "guide": make_staff(session, roles=[Role.GUIDE]),
        "other_guide": make_staff(session, roles=[Role.GUIDE]),
    }
    mine = make_customer(
        session,
        cipher,
        identities=[
            IdentityInput("phone", "13812345678"),
            IdentityInput("unionid", "union-mine"),
            IdentityInput("member_no", "m001"),
        ],
        guide_id=staff["guide"].id,
        name="张三丰",
    )
    theirs = make_customer(
        session,
        cipher,
        identities=[IdentityInput("phone", "13900001111")],
        guide_id=staff["other_guide"].id,
        name="李四",
    )
    return Cast(
        tokens={name: make_token(session, member) for name, member in staff.items()},
        mine=mine,
        theirs=theirs,
        **staff,
    )


def add_events(
    session: Session, customer_id: int, count: int, *, start: datetime | None = None
) -> list[TrackedEvent]:
    """``count`` events, one minute apart, every third sharing its predecessor's time."""
    start = start or clock.now() - timedelta(days=1)
    events = []
    for index in range(count):
        moment = start + timedelta(minutes=index - (1 if index % 3 == 2 else 0))
        event = TrackedEvent(
            event_id=f"e-{customer_id}-{index}",
            customer_id=customer_id,
            type="product_view" if index % 2 == 0 else "page_view",
            occurred_at=moment,
            received_at=moment,
            touchpoint="mp",
            context={},
            properties={"index": index},
        )
        session.add(event)
        events.append(event)
    session.flush()
    return events


def audit_rows(session: Session, action: str) -> list[AuditLog]:
    return list(session.scalars(select(AuditLog).where(AuditLog.action == action)))


def outbox_count(session: Session, name: str) -> int:
    return session.scalar(select(func.count()).where(OutboxEvent.name == name)) or 0
