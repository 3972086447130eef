"""Identity conflicts: recorded even though the call that found them fails.

When identify (or a merge) finds two different values of a single-valued kind on
what would be one customer, the call fails with 409 and everything it did is rolled
back. The conflict row must survive that rollback, or an operator would never see
it; so it is written in its own transaction on a fresh session.

That write is *deferred* until the caller's outermost transaction has ended
(``after_transaction_end``), not done at once: on SQLite the request holds the one
write lock (``BEGIN IMMEDIATE``) until it rolls back, and a second connection would
wait for the busy timeout and then fail. After the end, both engines accept it.
When the session is bound to a ``Connection`` that already has a transaction (tests,
or a caller that joins an outer transaction), the row is written on that connection
and the outer owner decides its fate.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.customers import access as _access  # noqa: F401  (registers the customer scope)
from siyu.customers.errors import ConflictClosed, ConflictNotFound, IdentityConflictError
from siyu.customers.kinds import IdentityKey, NormalisedIdentity, mask_phone
from siyu.models.customer import (
    ConflictStatus,
    Customer,
    CustomerIdentity,
    IdentityConflict,
    IdentityKind,
)
from siyu.staff import audit
from siyu.staff.principal import Principal
from siyu.staff.scope import ScopeKind, scope_for, scoped

logger = logging.getLogger(__name__)

_PENDING_KEY = "siyu.customers.pending_conflicts"
MAX_PAGE = 200


@dataclass(frozen=True)
class ConflictDraft:
    kind: str
    namespace: str
    customer_ids: list[int]
    # Masked values only: the conflict list is shown to operators without customers.pii.
    detail: dict[str, Any] = field(default_factory=dict)
    source: str = ""


def record_independently(bind: Engine | Connection, draft: ConflictDraft) -> int:
    """Write one conflict row in its own transaction and return its id."""
    with Session(bind=bind, expire_on_commit=False) as session:
        row = IdentityConflict(
            status=ConflictStatus.OPEN,
            kind=draft.kind,
            namespace=draft.namespace,
            customer_ids=sorted(draft.customer_ids),
            detail=draft.detail,
            source=draft.source[:64],
            created_at=clock.now(),
        )
        session.add(row)
        session.commit()
        return row.id


def _flush_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None or transaction.nested:
        return
    drafts: list[ConflictDraft] = session.info.pop(_PENDING_KEY, [])
    if not drafts:
        return
    bind = session.get_bind()
    for draft in drafts:
        try:
            record_independently(bind, draft)
        except Exception:  # the caller already has its 409; never mask it with this
            logger.exception("could not record identity conflict %s", draft)


def record_after_transaction(session: Session, draft: ConflictDraft) -> None:
    """Queue ``draft``; it is committed on its own once ``session``'s transaction ends."""
    session.info.setdefault(_PENDING_KEY, []).append(draft)
    if not event.contains(session, "after_transaction_end", _flush_pending):
        event.listen(session, "after_transaction_end", _flush_pending)


def _key_parts(row: Any) -> tuple[IdentityKind, str, str]:
    return (IdentityKind(row.kind), row.namespace, row.lookup_key)


def _mask(kind: str, display: str) -> str:
    if kind == "phone":
        return mask_phone(display)
    return display[:4] + "****" + display[-2:] if len(display) > 8 else display[:2] + "****"


def _display(cipher: PiiCipher, row: Any) -> str:
    if row.encrypted_value is not None:
        return cipher.decrypt(row.encrypted_value, context=row.kind)
    return str(row.value or "")


def check_single_valued(
    session: Session,
    cipher: PiiCipher,
    customer_ids: set[int],
    new_items: list[NormalisedIdentity],
    source: str,
) -> None:
    """Refuse when one person would hold two values of a single-valued kind."""
    values: dict[tuple[str, str], dict[str, tuple[int | None, str]]] = {}
    for item in new_items:
        if item.key.is_single_valued:
            group = values.setdefault((item.key.kind.value, item.key.namespace), {})
            group.setdefault(item.key.lookup_key, (None, item.display))
    kinds = {kind for kind, _namespace in values}
    if customer_ids and (kinds or len(customer_ids) > 1):
        statement = select(
            CustomerIdentity.customer_id,
            CustomerIdentity.kind,
            CustomerIdentity.namespace,
            CustomerIdentity.lookup_key,
            CustomerIdentity.value,
            CustomerIdentity.encrypted_value,
        ).where(CustomerIdentity.customer_id.in_(customer_ids))
        for row in session.execute(statement):
            key = IdentityKey(*_key_parts(row))
            if not key.is_single_valued:
                continue
            if len(customer_ids) == 1 and key.kind.value not in kinds:
                continue
            group = values.setdefault((row.kind, row.namespace), {})
            group[row.lookup_key] = (row.customer_id, _display(cipher, row))
    for (kind, namespace), group in sorted(values.items()):
        if len(group) < 2:
            continue
        involved = sorted({owner for owner, _ in group.values() if owner is not None})
        detail = {
            "values": [
                {"customer_id": owner, "masked": _mask(kind, shown)}
                for owner, shown in sorted(group.values(), key=lambda pair: (pair[0] or 0, pair[1]))
            ]
        }
        record_after_transaction(
            session,
            ConflictDraft(
                kind=kind, namespace=namespace, customer_ids=involved, detail=detail, source=source
            ),
        )
        raise IdentityConflictError(
            data={"kind": kind, "namespace": namespace, "customer_ids": involved}
        )


def _visible(session: Session, principal: Principal, customer_ids: list[int]) -> bool:
    if not customer_ids:
        # No customer to scope by (both values arrived new in one call): brand-wide staff only.
        return scope_for(principal).kind is ScopeKind.ALL
    statement = scoped(select(func.count(Customer.id)), Customer, principal).where(
        Customer.id.in_(customer_ids)
    )
    return bool(session.scalar(statement))


def list_conflicts(
    session: Session,
    principal: Principal,
    status: ConflictStatus | None,
    limit: int = 50,
    offset: int = 0,
) -> list[IdentityConflict]:
    """Newest first. Staff with a data scope see conflicts touching one of their customers."""
    statement = select(IdentityConflict).order_by(
        IdentityConflict.created_at.desc(), IdentityConflict.id.desc()
    )
    if status is not None:
        statement = statement.where(IdentityConflict.status == status.value)
    limit = max(1, min(limit, MAX_PAGE))
    if scope_for(principal).kind is ScopeKind.ALL:
        return list(session.scalars(statement.limit(limit).offset(max(0, offset))))
    rows = list(session.scalars(statement))
    # customer_ids is a JSON list (no portable "contains" across engines): filter here,
    # with one scoped query for every customer the rows mention.
    mentioned = {customer_id for row in rows for customer_id in row.customer_ids}
    allowed = set(
        session.scalars(
            scoped(select(Customer.id), Customer, principal).where(Customer.id.in_(mentioned))
        )
    )
    visible = [row for row in rows if allowed.intersection(row.customer_ids)]
    return visible[max(0, offset) : max(0, offset) + limit]


def get_conflict(session: Session, principal: Principal, conflict_id: int) -> IdentityConflict:
    row = session.get(IdentityConflict, conflict_id)
    if row is None or not _visible(session, principal, list(row.customer_ids)):
        raise ConflictNotFound(data={"conflict_id": conflict_id})
    return row


def close_conflict(
    session: Session, actor: Principal, conflict_id: int, resolution: str, dismiss: bool
) -> IdentityConflict:
    """Mark an open conflict resolved (or dismissed) with the operator's note; audited."""
    row = get_conflict(session, actor, conflict_id)
    if row.status != ConflictStatus.OPEN:
        raise ConflictClosed(data={"conflict_id": conflict_id, "status": row.status})
    row.status = ConflictStatus.DISMISSED if dismiss else ConflictStatus.RESOLVED
    row.resolution = resolution
    row.resolved_at = clock.now()
    row.resolved_by = actor.username
    session.flush()
    audit.record(
        session,
        actor,
        "customer.conflict_dismiss" if dismiss else "customer.conflict_resolve",
        target_type="identity_conflict",
        target_id=row.id,
        detail={"resolution": resolution, "customer_ids": list(row.customer_ids)},
    )
    return row
