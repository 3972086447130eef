"""Audit log: who did what to which target, when and from where.

Every service that writes on behalf of staff calls ``record`` in the same
transaction as the write, so an audited change and its row commit or vanish together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.models.staff import AuditLog
from siyu.staff.principal import Principal


def record(
    session: Session,
    actor: Principal,
    action: str,
    *,
    target_type: str,
    target_id: object | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    entry = AuditLog(
        created_at=clock.now(),
        staff_id=actor.staff_id,
        actor=actor.username,
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        ip=actor.ip,
        detail=detail or {},
    )
    session.add(entry)
    return entry


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditLog]
    total: int


def search(
    session: Session, criteria: AuditFilter, *, limit: int = 50, offset: int = 0
) -> AuditPage:
    statement = select(AuditLog)
    if criteria.actor:
        statement = statement.where(AuditLog.actor == criteria.actor.lower())
    if criteria.action:
        # Prefix match so "staff." finds every staff action.
        statement = statement.where(AuditLog.action.startswith(criteria.action, autoescape=True))
    if criteria.target_type:
        statement = statement.where(AuditLog.target_type == criteria.target_type)
    if criteria.target_id:
        statement = statement.where(AuditLog.target_id == criteria.target_id)
    if criteria.since:
        statement = statement.where(AuditLog.created_at >= criteria.since)
    if criteria.until:
        statement = statement.where(AuditLog.created_at < criteria.until)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(statement.order_by(AuditLog.id.desc()).limit(limit).offset(offset)).all()
    return AuditPage(entries=list(rows), total=total)
