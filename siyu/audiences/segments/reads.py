"""Reading a segment's members: a scoped, masked page; reach per channel; CSV export.

Every read starts from ``scoped(select(Customer) …)`` (DESIGN.md convention 6): a
store manager exporting a brand-wide segment gets their store's members only. Names
and phones are masked unless the caller holds ``customers.pii``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session

from siyu.audiences.segments.schemas import MemberOut, ReachOut
from siyu.core.crypto import PiiCipher
from siyu.core.pagination import decode_cursor, encode_cursor
from siyu.customers.kinds import mask_phone
from siyu.customers.profile import mask_name, may_see_pii
from siyu.models.audience import CustomerTrait, SegmentMember
from siyu.models.customer import Customer, CustomerIdentity, CustomerStaffLink, IdentityKind
from siyu.models.member import Membership, MemberTier
from siyu.staff.principal import Principal
from siyu.staff.scope import scoped

EXPORT_BATCH = 2000
EXPORT_COLUMNS = (
    "customer_id",
    "name",
    "phone",
    "gender",
    "city",
    "tier",
    "rfm_group",
    "aipl_stage",
    "ops_stage",
    "guide_id",
    "store_id",
    "entered_at",
)


def _members(segment_id: int, principal: Principal) -> Select[Any]:
    statement = cast(
        "Select[Any]",
        (
            select(
                Customer.id,
                Customer.name,
                Customer.gender,
                Customer.city,
                Customer.guide_id,
                Customer.store_id,
                SegmentMember.entered_at,
                MemberTier.name.label("tier"),
                CustomerTrait.rfm_group,
                CustomerTrait.aipl_stage,
                CustomerTrait.ops_stage,
            )
            .join(SegmentMember, SegmentMember.customer_id == Customer.id)
            .outerjoin(Membership, Membership.customer_id == Customer.id)
            .outerjoin(MemberTier, MemberTier.id == Membership.tier_id)
            .outerjoin(CustomerTrait, CustomerTrait.customer_id == Customer.id)
            .where(SegmentMember.segment_id == segment_id)
        ),
    )
    return scoped(statement, Customer, principal)


def members_page(
    session: Session, principal: Principal, segment_id: int, *, limit: int, cursor: str | None
) -> tuple[list[MemberOut], str | None]:
    """Keyset-paged by customer id."""
    statement = _members(segment_id, principal).order_by(Customer.id).limit(limit + 1)
    if cursor is not None:
        (after,) = decode_cursor(cursor, parts=1)
        statement = statement.where(Customer.id > after)
    rows = session.execute(statement).all()
    reveal = may_see_pii(principal)
    items = [
        MemberOut(
            customer_id=row.id,
            name=row.name if reveal else mask_name(row.name),
            masked=not reveal,
            tier=row.tier,
            rfm_group=row.rfm_group,
            aipl_stage=row.aipl_stage,
            ops_stage=row.ops_stage,
            guide_id=row.guide_id,
            entered_at=row.entered_at,
        )
        for row in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return items, next_cursor


def _has_identity(kind: IdentityKind) -> Any:
    return exists().where(
        CustomerIdentity.customer_id == Customer.id, CustomerIdentity.kind == kind.value
    )


def reach(session: Session, principal: Principal, segment_id: int) -> ReachOut:
    """How many members each channel can reach: an OA openid (template messages), a
    mini-program openid with an unused subscribe-message opt-in, an active WeCom
    relation with a member of staff."""
    oa = _has_identity(IdentityKind.OA_OPENID)
    mp = and_(
        _has_identity(IdentityKind.MP_OPENID),
        exists().where(CustomerTrait.customer_id == Customer.id, CustomerTrait.subscribe_quota > 0),
    )
    wecom = exists().where(
        CustomerStaffLink.customer_id == Customer.id, CustomerStaffLink.removed_at.is_(None)
    )

    def count_if(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    statement = scoped(
        select(
            func.count(),
            count_if(oa),
            count_if(mp),
            count_if(wecom),
            count_if(or_(oa, mp, wecom)),
        )
        .select_from(Customer)
        .join(SegmentMember, SegmentMember.customer_id == Customer.id)
        .where(SegmentMember.segment_id == segment_id),
        Customer,
        principal,
    )
    row = session.execute(statement).one()
    return ReachOut(
        segment_id=segment_id,
        members=int(row[0]),
        oa=int(row[1]),
        mp_subscribe=int(row[2]),
        wecom=int(row[3]),
        any_channel=int(row[4]),
    )


def _phones(session: Session, cipher: PiiCipher, ids: list[int], *, reveal: bool) -> dict[int, str]:
    phones: dict[int, str] = {}
    rows = session.execute(
        select(CustomerIdentity.customer_id, CustomerIdentity.encrypted_value)
        .where(
            CustomerIdentity.customer_id.in_(ids),
            CustomerIdentity.kind == IdentityKind.PHONE.value,
            CustomerIdentity.encrypted_value.is_not(None),
        )
        .order_by(CustomerIdentity.id)
    )
    for customer_id, encrypted in rows:
        if customer_id in phones:
            continue
        plain = cipher.decrypt(str(encrypted), context=IdentityKind.PHONE.value)
        phones[customer_id] = plain if reveal else mask_phone(plain)
    return phones


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.isoformat()


def export_rows(
    session: Session, cipher: PiiCipher, principal: Principal, segment_id: int
) -> Iterator[str]:
    """The CSV text in pieces, EXPORT_BATCH members at a time (keyset by id), so a
    million-member export streams in constant memory."""
    reveal = may_see_pii(principal)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese text correctly only with a BOM.
    writer.writerow(EXPORT_COLUMNS)
    yield buffer.getvalue()
    after = 0
    while True:
        rows = session.execute(
            _members(segment_id, principal)
            .where(Customer.id > after)
            .order_by(Customer.id)
            .limit(EXPORT_BATCH)
        ).all()
        if not rows:
            return
        phones = _phones(session, cipher, [row.id for row in rows], reveal=reveal)
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for row in rows:
            writer.writerow(
                (
                    row.id,
                    (row.name if reveal else mask_name(row.name)) or "",
                    phones.get(row.id, ""),
                    row.gender or "",
                    row.city or "",
                    row.tier or "",
                    row.rfm_group or "",
                    row.aipl_stage or "",
                    row.ops_stage or "",
                    row.guide_id or "",
                    row.store_id or "",
                    _iso(row.entered_at),
                )
            )
        yield buffer.getvalue()
        after = rows[-1].id
