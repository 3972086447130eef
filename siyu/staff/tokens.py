"""API bearer tokens: shown once, stored hashed, revocable, optionally expiring."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from siyu.core import clock, security
from siyu.core.errors import ValidationFailed
from siyu.models.staff import ApiToken, Staff
from siyu.staff import audit
from siyu.staff.errors import TokenNotFound
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.staff.service import get_staff

TOKEN_PREFIX = "siyu"
MAX_EXPIRY_DAYS = 3650
# last_used_at is refreshed at most this often, so reads do not each cost a write.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _may_manage_tokens_of(actor: Principal, staff_id: int) -> None:
    if actor.staff_id != staff_id:
        actor.require(Permission.STAFF_MANAGE)


def create_token(
    session: Session,
    actor: Principal,
    staff_id: int,
    *,
    name: str = "",
    expires_days: int | None = None,
) -> tuple[str, ApiToken]:
    """Create a token for ``staff_id``; the raw token is returned once and never stored."""
    _may_manage_tokens_of(actor, staff_id)
    staff = get_staff(session, staff_id)
    if expires_days is not None and not 1 <= expires_days <= MAX_EXPIRY_DAYS:
        raise ValidationFailed(
            f"expires_days must be between 1 and {MAX_EXPIRY_DAYS}.",
            code="token.invalid_expiry",
            data={"field": "expires_days"},
        )
    now = clock.now()
    raw = security.new_token(TOKEN_PREFIX)
    token = ApiToken(
        staff_id=staff.id,
        name=name.strip()[:100],
        token_hash=security.hash_token(raw),
        prefix=raw[: len(TOKEN_PREFIX) + 7],
        created_at=now,
        expires_at=now + timedelta(days=expires_days) if expires_days else None,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "token.create",
        target_type="api_token",
        target_id=token.id,
        detail={"staff": staff.username, "name": token.name, "expires_days": expires_days},
    )
    return raw, token


def revoke_token(session: Session, actor: Principal, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise TokenNotFound(data={"token_id": token_id})
    _may_manage_tokens_of(actor, token.staff_id)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        audit.record(session, actor, "token.revoke", target_type="api_token", target_id=token.id)
    return token


def list_tokens(session: Session, actor: Principal, staff_id: int) -> list[ApiToken]:
    _may_manage_tokens_of(actor, staff_id)
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.staff_id == staff_id).order_by(ApiToken.id)
        ).all()
    )


def resolve_token(session: Session, raw: str) -> Staff | None:
    """Return the active staff member owning a valid token, or None."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == security.hash_token(raw)))
    now = clock.now()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    staff = session.scalar(
        select(Staff).where(Staff.id == token.staff_id).options(selectinload(Staff.roles))
    )
    if staff is None or not staff.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return staff
