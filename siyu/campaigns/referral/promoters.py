"""Promoters: customers who apply (or are invited by a promoter) and guides enrolled
by an operator; review (approve / reject / suspend / reinstate); share codes.

Two levels at most: an invitee's parent is the inviter, and only a top-level
promoter may invite (``referral.too_deep`` otherwise), so the tree never grows a
third level — a deeper chain is illegal pyramid selling (传销). The database says so
too (``depth IN (1, 2)``, a parent exactly when depth is 2).

Becoming a promoter is an insert-or-nothing on the unique customer (or staff) id, so
two racing applications leave one promoter; every status change is a conditional
UPDATE from the expected status, so two operators reviewing at once act once.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.campaigns.referral import programme
from siyu.campaigns.referral.errors import (
    AlreadyPromoter,
    NotAPromoter,
    ProgrammeNotLive,
    PromoterNotFound,
    PromoterStateConflict,
    SelfReferral,
    TooDeep,
    UnknownCode,
)
from siyu.campaigns.referral.schemas import ApplyIn
from siyu.core import clock
from siyu.core.db import dialect_insert, rowcount
from siyu.core.errors import ValidationFailed
from siyu.models.base import new_public_id
from siyu.models.referral import Promoter, PromoterKind, PromoterStatus
from siyu.models.staff import Role, Staff, StaffRole
from siyu.staff import audit
from siyu.staff.principal import Principal

# No 0/O, 1/I/l: codes are read aloud and typed from posters.
_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 8
SHARE_PATH = "/shop"


def new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


def share_url(code: str, path: str = SHARE_PATH) -> str:
    """The storefront link that binds its visitor to the promoter (posters add a QR)."""
    return f"{path}?ref={code}"


def by_code(session: Session, code: str, *, active: bool = True) -> Promoter:
    promoter = session.scalars(select(Promoter).where(Promoter.code == code)).first()
    if promoter is None or (active and promoter.status != PromoterStatus.ACTIVE):
        raise UnknownCode(data={"code": code})
    return promoter


def by_public_id(session: Session, public_id: str) -> Promoter:
    promoter = session.scalars(select(Promoter).where(Promoter.public_id == public_id)).first()
    if promoter is None:
        raise PromoterNotFound(data={"promoter": public_id})
    return promoter


def of_customer(session: Session, customer_id: int) -> Promoter | None:
    return session.scalars(select(Promoter).where(Promoter.customer_id == customer_id)).first()


def of_staff(session: Session, staff_id: int) -> Promoter | None:
    return session.scalars(select(Promoter).where(Promoter.staff_id == staff_id)).first()


def active_of_customer(session: Session, customer_id: int) -> Promoter:
    promoter = of_customer(session, customer_id)
    if promoter is None or promoter.status != PromoterStatus.ACTIVE:
        raise NotAPromoter()
    return promoter


def withdrawer_of_customer(session: Session, customer_id: int) -> Promoter:
    """Active and suspended promoters may withdraw what was settled for them."""
    promoter = of_customer(session, customer_id)
    if promoter is None or promoter.status not in (
        PromoterStatus.ACTIVE,
        PromoterStatus.SUSPENDED,
    ):
        raise NotAPromoter()
    return promoter


def _insert(session: Session, values: dict[str, object], conflict_column: str) -> Promoter | None:
    now = clock.now()
    inserted = session.execute(
        dialect_insert(session, Promoter)
        .values(
            public_id=new_public_id("prm"),
            code=new_code(),
            created_at=now,
            updated_at=now,
            **values,
        )
        .on_conflict_do_nothing(index_elements=[conflict_column])
        .returning(Promoter.id)
    ).first()
    if inserted is None:
        return None
    return session.get(Promoter, inserted[0])


def apply(session: Session, customer_id: int, body: ApplyIn) -> Promoter:
    """A customer applies, optionally with the share code of the promoter who invited
    them. Approved at once when the live programme auto-approves."""
    live = programme.live(session)
    if live is None:
        raise ProgrammeNotLive()
    parent: Promoter | None = None
    if body.invite_code:
        parent = by_code(session, body.invite_code)
        if parent.customer_id == customer_id:
            raise SelfReferral(data={"field": "invite_code"})
        if parent.depth >= 2:
            raise TooDeep(data={"invite_code": body.invite_code})
    now = clock.now()
    promoter = _insert(
        session,
        {
            "kind": PromoterKind.CUSTOMER.value,
            "customer_id": customer_id,
            "display_name": body.display_name,
            "status": (
                PromoterStatus.ACTIVE if live.auto_approve else PromoterStatus.PENDING
            ).value,
            "parent_id": parent.id if parent else None,
            "depth": 2 if parent else 1,
            "applied_note": body.note,
            "approved_at": now if live.auto_approve else None,
            "reviewed_by": "auto" if live.auto_approve else "",
        },
        "customer_id",
    )
    if promoter is None:
        raise AlreadyPromoter()
    return promoter


def enrol_guide(session: Session, actor: Principal, staff_id: int) -> Promoter:
    """A guide (staff) becomes an active top-level promoter."""
    staff = session.get(Staff, staff_id)
    is_guide = session.scalar(
        select(func.count())
        .select_from(StaffRole)
        .where(StaffRole.staff_id == staff_id, StaffRole.role == Role.GUIDE.value)
    )
    if staff is None or not staff.is_active or not is_guide:
        raise ValidationFailed("Only active guides can be enrolled.", data={"field": "staff_id"})
    promoter = _insert(
        session,
        {
            "kind": PromoterKind.GUIDE.value,
            "staff_id": staff_id,
            "display_name": (staff.display_name or staff.username)[:64],
            "status": PromoterStatus.ACTIVE.value,
            "depth": 1,
            "approved_at": clock.now(),
            "reviewed_by": actor.username[:64],
        },
        "staff_id",
    )
    if promoter is None:
        raise AlreadyPromoter(data={"staff_id": staff_id})
    audit.record(
        session,
        actor,
        "referral.guide_enrolled",
        target_type="promoter",
        target_id=promoter.id,
        detail={"staff_id": staff_id},
    )
    return promoter


_TRANSITIONS = {
    "approve": (PromoterStatus.PENDING, PromoterStatus.ACTIVE),
    "reject": (PromoterStatus.PENDING, PromoterStatus.REJECTED),
    "suspend": (PromoterStatus.ACTIVE, PromoterStatus.SUSPENDED),
    "reinstate": (PromoterStatus.SUSPENDED, PromoterStatus.ACTIVE),
}


def review(
    session: Session, actor: Principal, promoter: Promoter, action: str, *, note: str = ""
) -> None:
    """approve / reject / suspend / reinstate, each only from its expected status."""
    source, target = _TRANSITIONS[action]
    now = clock.now()
    values: dict[str, object] = {
        "status": target.value,
        "reviewed_by": actor.username[:64],
        "updated_at": now,
    }
    if action == "approve":
        values["approved_at"] = now
    moved = session.execute(
        update(Promoter)
        .where(Promoter.id == promoter.id, Promoter.status == source.value)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        raise PromoterStateConflict(
            data={"promoter": promoter.public_id, "status": promoter.status}
        )
    session.refresh(promoter)
    audit.record(
        session,
        actor,
        f"referral.promoter_{action}d" if action.endswith("e") else f"referral.promoter_{action}ed",
        target_type="promoter",
        target_id=promoter.id,
        detail={"note": note[:200]},
    )


def list_promoters(
    session: Session, *, status: PromoterStatus | None = None, limit: int = 200
) -> list[Promoter]:
    statement = select(Promoter).order_by(Promoter.created_at.desc(), Promoter.id.desc())
    if status is not None:
        statement = statement.where(Promoter.status == status.value)
    return list(session.scalars(statement.limit(limit)))


def team(session: Session, promoter: Promoter) -> list[Promoter]:
    """The promoters this one invited (level 2 below them)."""
    return list(
        session.scalars(
            select(Promoter)
            .where(Promoter.parent_id == promoter.id)
            .order_by(Promoter.created_at.desc())
            .limit(200)
        )
    )


def codes_of(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(select(Promoter.id, Promoter.code).where(Promoter.id.in_(ids)))
    return {row.id: row.code for row in rows}
