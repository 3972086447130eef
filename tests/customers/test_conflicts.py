"""Identity conflicts: recorded despite the rollback, listed by scope, closed with audit."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.core.db import transaction
from siyu.customers import conflicts
from siyu.customers.errors import ConflictClosed, ConflictNotFound, IdentityConflictError
from siyu.customers.identify import IdentityInput, identify
from siyu.models.customer import ConflictStatus, Customer, IdentityConflict
from siyu.models.staff import AuditLog, Role
from tests.customers.factories import make_cipher, make_customer
from tests.factories import make_staff, principal_of

cipher = make_cipher()
UNION = IdentityInput("unionid", "u-1")


def _draft(customer_ids: list[int]) -> conflicts.ConflictDraft:
    return conflicts.ConflictDraft(
        kind="phone", namespace="", customer_ids=customer_ids, detail={"values": []}, source="t"
    )


def test_conflict_row_survives_the_failed_call(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        owner = make_customer(
            session, cipher, identities=[UNION, IdentityInput("phone", "13900001111")]
        )
    with pytest.raises(IdentityConflictError), transaction(session_factory) as session:
        identify(
            session,
            cipher,
            None,
            [UNION, IdentityInput("phone", "13900002222")],
            None,
            source="api:pos",
        )
    with transaction(session_factory) as session:
        row = session.scalars(select(IdentityConflict)).one()
        assert (row.status, row.kind, row.namespace, row.source) == ("open", "phone", "", "api:pos")
        assert row.customer_ids == [owner.id]
        assert row.detail == {
            "values": [
                {"customer_id": None, "masked": "139****2222"},
                {"customer_id": owner.id, "masked": "139****1111"},
            ]
        }
        # The failed call wrote nothing else: the second phone is nowhere.
        assert session.scalar(select(Customer.id).where(Customer.id != owner.id)) is None


def test_conflict_within_one_call_on_rolled_back_session(session: Session) -> None:
    with pytest.raises(IdentityConflictError):
        identify(
            session,
            cipher,
            None,
            [IdentityInput("unionid", "a"), IdentityInput("unionid", "b")],
            None,
            source="test",
        )
    session.rollback()  # ends the session's transaction: the deferred write runs now
    row = session.scalars(select(IdentityConflict)).one()
    assert (row.kind, row.customer_ids) == ("unionid", [])
    assert session.scalar(select(Customer.id)) is None


def test_record_independently_commits_at_once(committed_engine: Engine) -> None:
    conflict_id = conflicts.record_independently(committed_engine, _draft([]))
    with Session(committed_engine) as other:
        assert other.get(IdentityConflict, conflict_id) is not None


def test_list_is_scoped_and_filtered_by_status(session: Session) -> None:
    guide = make_staff(session, roles=[Role.GUIDE])
    admin = make_staff(session, roles=[Role.ADMIN])
    mine = make_customer(session, cipher, guide_id=guide.id)
    theirs = make_customer(session, cipher)
    for ids in ([mine.id], [theirs.id], [mine.id, theirs.id], []):
        session.add(
            IdentityConflict(
                kind="phone",
                customer_ids=ids,
                detail={},
                source="t",
                created_at=mine.created_at,
            )
        )
    session.flush()
    all_rows = conflicts.list_conflicts(session, principal_of(admin), ConflictStatus.OPEN)
    guide_rows = conflicts.list_conflicts(session, principal_of(guide), ConflictStatus.OPEN)
    assert len(all_rows) == 4
    assert sorted(tuple(row.customer_ids) for row in guide_rows) == sorted(
        [(mine.id,), tuple(sorted([mine.id, theirs.id]))]
    )
    assert conflicts.list_conflicts(session, principal_of(admin), ConflictStatus.RESOLVED) == []
    assert len(conflicts.list_conflicts(session, principal_of(admin), None, limit=2)) == 2


def test_close_conflict_is_audited_and_final(session: Session) -> None:
    admin = make_staff(session, roles=[Role.ADMIN])
    guide = make_staff(session, roles=[Role.GUIDE])
    row = IdentityConflict(
        kind="phone", customer_ids=[], detail={}, source="t", created_at=admin.created_at
    )
    session.add(row)
    session.flush()
    with pytest.raises(ConflictNotFound):
        conflicts.close_conflict(session, principal_of(guide), row.id, "x", dismiss=False)
    closed = conflicts.close_conflict(session, principal_of(admin), row.id, "same person", False)
    assert (closed.status, closed.resolved_by, closed.resolution) == (
        "resolved",
        admin.username,
        "same person",
    )
    entry = session.scalars(
        select(AuditLog).where(AuditLog.action == "customer.conflict_resolve")
    ).one()
    assert entry.target_id == str(row.id)
    with pytest.raises(ConflictClosed):
        conflicts.close_conflict(session, principal_of(admin), row.id, "again", dismiss=True)
    with pytest.raises(ConflictNotFound):
        conflicts.close_conflict(session, principal_of(admin), 10**9, "x", dismiss=True)
