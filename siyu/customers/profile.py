"""Customer 360: one customer's profile, scoped to the caller and masked per permission.

Every read starts from ``scoped(select(Customer), Customer, principal)`` (DESIGN.md
convention 6). A customer outside the caller's scope is reported exactly like a
missing one (404 ``customer.not_found``), so a guide learns nothing about other
guides' customers. A merged id resolves to its survivor.

Masking without ``customers.pii``: phones ``138****5678``, the name as its first
character plus stars (``张**``), the birthday without its year (``****-05-02``: enough
for a birthday greeting, not for an age). Platform ids (unionid, openids,
external_userid), member numbers and anonymous ids are pseudonymous identifiers,
not personal data in themselves, and are shown in full: guides and integrations
need them to find the same person elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.customers import profile_sections
from siyu.customers.errors import CustomerNotFound
from siyu.customers.identify import resolve_customer_id
from siyu.customers.kinds import PERSONAL_KINDS, mask_phone
from siyu.customers.schemas import (
    CustomerProfile,
    GuideOut,
    IdentityOut,
    MergeOut,
    TagOut,
    TouchOut,
)
from siyu.models.channel_code import ChannelCode
from siyu.models.customer import Customer, CustomerIdentity, CustomerMerge, CustomerTag, Tag
from siyu.models.staff import Staff
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.staff.scope import scoped


def may_see_pii(principal: Principal) -> bool:
    return principal.has(Permission.CUSTOMERS_PII)


def mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * max(len(name) - 1, 1)


def mask_birthday(birthday: date | None) -> str | None:
    return None if birthday is None else f"****-{birthday:%m-%d}"


def find_customer(session: Session, principal: Principal, customer_id: int) -> Customer:
    """The customer ``customer_id`` resolves to, if the caller may see it."""
    target = resolve_customer_id(session, customer_id)
    if target is None:
        raise CustomerNotFound(data={"customer_id": customer_id})
    statement = scoped(select(Customer).where(Customer.id == target), Customer, principal)
    customer = session.scalars(statement).first()
    if customer is None:
        raise CustomerNotFound(data={"customer_id": customer_id})
    return customer


def identity_value(cipher: PiiCipher, identity: CustomerIdentity, *, reveal: bool) -> str:
    """The identity's value as this caller may see it."""
    if identity.kind in PERSONAL_KINDS and identity.encrypted_value is not None:
        plain = cipher.decrypt(identity.encrypted_value, context=identity.kind)
        return plain if reveal else mask_phone(plain)
    return identity.value or ""


def identities_of(
    session: Session, cipher: PiiCipher, customer_id: int, *, reveal: bool
) -> list[IdentityOut]:
    rows = session.scalars(
        select(CustomerIdentity)
        .where(CustomerIdentity.customer_id == customer_id)
        .order_by(CustomerIdentity.kind, CustomerIdentity.id)
    )
    return [
        IdentityOut(
            kind=row.kind,
            namespace=row.namespace,
            value=identity_value(cipher, row, reveal=reveal),
            masked=row.kind in PERSONAL_KINDS and not reveal,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
        )
        for row in rows
    ]


def guides_by_id(session: Session, guide_ids: Iterable[int | None]) -> dict[int, GuideOut]:
    wanted = {guide_id for guide_id in guide_ids if guide_id is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(Staff.id, Staff.username, Staff.display_name).where(Staff.id.in_(wanted))
    )
    return {
        row.id: GuideOut(id=row.id, username=row.username, display_name=row.display_name or "")
        for row in rows
    }


def tags_of(session: Session, customer_id: int) -> list[TagOut]:
    rows = session.execute(
        select(Tag.id, Tag.group_name, Tag.name, CustomerTag.source, CustomerTag.added_at)
        .join(CustomerTag, CustomerTag.tag_id == Tag.id)
        .where(CustomerTag.customer_id == customer_id)
        .order_by(Tag.group_name, Tag.name)
    )
    return [
        TagOut(id=row.id, group=row.group_name, name=row.name, source=row.source, added_at=row[4])
        for row in rows
    ]


def merges_of(session: Session, customer_id: int) -> list[MergeOut]:
    rows = session.scalars(
        select(CustomerMerge)
        .where(
            or_(CustomerMerge.survivor_id == customer_id, CustomerMerge.merged_id == customer_id)
        )
        .order_by(CustomerMerge.created_at.desc(), CustomerMerge.id.desc())
    )
    return [
        MergeOut(
            survivor_id=row.survivor_id,
            merged_id=row.merged_id,
            actor=row.actor,
            reason=row.reason,
            moved=row.moved,
            created_at=row.created_at,
        )
        for row in rows
    ]


def _touches(session: Session, customer: Customer) -> tuple[TouchOut, TouchOut]:
    code_ids = {customer.first_touch_channel_code_id, customer.last_touch_channel_code_id}
    code_ids.discard(None)
    codes = {
        row.id: (row.code, row.name)
        for row in session.execute(
            select(ChannelCode.id, ChannelCode.code, ChannelCode.name).where(
                ChannelCode.id.in_(code_ids)
            )
        )
    }

    def touch(touchpoint: str | None, code_id: int | None, at: object) -> TouchOut:
        code, name = codes.get(code_id, (None, None)) if code_id is not None else (None, None)
        return TouchOut.model_validate(
            {
                "touchpoint": touchpoint,
                "channel_code_id": code_id,
                "channel_code": code,
                "channel_code_name": name,
                "at": at,
            }
        )

    return (
        touch(
            customer.first_touchpoint, customer.first_touch_channel_code_id, customer.first_touch_at
        ),
        touch(
            customer.last_touchpoint, customer.last_touch_channel_code_id, customer.last_touch_at
        ),
    )


def build_profile(
    session: Session,
    principal: Principal,
    cipher: PiiCipher,
    customer: Customer,
    *,
    resolved_from: int | None = None,
) -> CustomerProfile:
    reveal = may_see_pii(principal)
    first_touch, last_touch = _touches(session, customer)
    guide = guides_by_id(session, [customer.guide_id]).get(customer.guide_id or 0)
    return CustomerProfile(
        id=customer.id,
        status=customer.status,
        resolved_from=resolved_from,
        pseudonym=customer.pseudonym,
        pii_visible=reveal,
        name=customer.name if reveal else mask_name(customer.name),
        gender=customer.gender,
        birthday=(
            (customer.birthday.isoformat() if customer.birthday else None)
            if reveal
            else mask_birthday(customer.birthday)
        ),
        city=customer.city,
        consent=customer.consent or {},
        first_touch=first_touch,
        last_touch=last_touch,
        guide=guide,
        store_id=customer.store_id,
        created_at=customer.created_at,
        last_seen_at=customer.last_seen_at,
        identities=identities_of(session, cipher, customer.id, reveal=reveal),
        tags=tags_of(session, customer.id),
        merges=merges_of(session, customer.id),
        sections=profile_sections.collect(session, customer.id),
    )


def get_profile(
    session: Session, principal: Principal, cipher: PiiCipher, customer_id: int
) -> CustomerProfile:
    customer = find_customer(session, principal, customer_id)
    resolved_from = customer_id if customer.id != customer_id else None
    return build_profile(session, principal, cipher, customer, resolved_from=resolved_from)
