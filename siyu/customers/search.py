"""Finding customers: ``?q=`` plus filters, scoped, keyset-paginated by id (newest first).

``q`` is tried, in one query, as every kind of key it could be:

* a phone number (normalised, then matched by its keyed hash — phones are never
  stored in clear, so this is the only way to find one);
* a member number (upper-cased, as stored);
* the exact value of any non-personal identity (unionid, openid, external_userid,
  anonymous id, another platform's buyer id);
* a customer id (digits);
* the start of the customer's name.

Merged customers are left out (their survivor is listed instead).
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.customers.kinds import InvalidPhone, normalise_phone
from siyu.customers.profile import guides_by_id, identity_value, mask_name, may_see_pii
from siyu.customers.schemas import CustomerPage, CustomerSummary
from siyu.customers.timeline import InvalidCursor, check_limit
from siyu.models.customer import (
    Customer,
    CustomerIdentity,
    CustomerStatus,
    CustomerTag,
    IdentityKind,
)
from siyu.staff.principal import Principal
from siyu.staff.scope import scoped

DEFAULT_LIMIT = 20
MAX_QUERY_LENGTH = 128


@dataclass(frozen=True)
class CustomerFilter:
    q: str = ""
    guide_id: int | None = None
    tag_id: int | None = None
    # Matches where the customer first came from or was last seen.
    touchpoint: str | None = None
    status: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _query_condition(cipher: PiiCipher, q: str) -> ColumnElement[bool]:
    q = q.strip()[:MAX_QUERY_LENGTH]
    conditions: list[ColumnElement[bool]] = []
    identity_match: list[ColumnElement[bool]] = [
        (CustomerIdentity.kind != IdentityKind.PHONE) & (CustomerIdentity.value == q),
        (CustomerIdentity.kind == IdentityKind.MEMBER_NO)
        & (CustomerIdentity.lookup_key == q.upper()),
    ]
    try:
        phone = normalise_phone(q)
    except InvalidPhone:
        phone = None
    if phone is not None:
        identity_match.append(
            (CustomerIdentity.kind == IdentityKind.PHONE)
            & (CustomerIdentity.lookup_key == cipher.lookup_hash(phone, context="phone"))
        )
    conditions.append(
        Customer.id.in_(select(CustomerIdentity.customer_id).where(or_(*identity_match)))
    )
    if q.isdigit() and len(q) <= 18:
        conditions.append(Customer.id == int(q))
    conditions.append(Customer.name.like(_escape_like(q) + "%", escape="\\"))
    return or_(*conditions)


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidCursor() from error


def _encode_cursor(customer_id: int) -> str:
    return base64.urlsafe_b64encode(str(customer_id).encode()).decode().rstrip("=")


def search(
    session: Session,
    principal: Principal,
    cipher: PiiCipher,
    filters: CustomerFilter,
    *,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> CustomerPage:
    check_limit(limit)
    statement = scoped(select(Customer), Customer, principal)
    if filters.status:
        statement = statement.where(Customer.status == filters.status)
    else:
        statement = statement.where(Customer.status != CustomerStatus.MERGED)
    if filters.q.strip():
        statement = statement.where(_query_condition(cipher, filters.q))
    if filters.guide_id is not None:
        statement = statement.where(Customer.guide_id == filters.guide_id)
    if filters.tag_id is not None:
        statement = statement.where(
            Customer.id.in_(
                select(CustomerTag.customer_id).where(CustomerTag.tag_id == filters.tag_id)
            )
        )
    if filters.touchpoint:
        statement = statement.where(
            or_(
                Customer.first_touchpoint == filters.touchpoint,
                Customer.last_touchpoint == filters.touchpoint,
            )
        )
    if cursor:
        statement = statement.where(Customer.id < _decode_cursor(cursor))
    rows = list(session.scalars(statement.order_by(Customer.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return CustomerPage(
        items=summaries(session, principal, cipher, rows),
        next_cursor=_encode_cursor(rows[-1].id) if more else None,
    )


def summaries(
    session: Session, principal: Principal, cipher: PiiCipher, customers: list[Customer]
) -> list[CustomerSummary]:
    reveal = may_see_pii(principal)
    ids = [customer.id for customer in customers]
    phones: dict[int, str] = {}
    if ids:
        for identity in session.scalars(
            select(CustomerIdentity)
            .where(
                CustomerIdentity.customer_id.in_(ids),
                CustomerIdentity.kind == IdentityKind.PHONE,
            )
            .order_by(CustomerIdentity.id)
        ):
            phones.setdefault(identity.customer_id, identity_value(cipher, identity, reveal=reveal))
    guides = guides_by_id(session, [customer.guide_id for customer in customers])
    return [
        CustomerSummary(
            id=customer.id,
            status=customer.status,
            name=customer.name if reveal else mask_name(customer.name),
            phone=phones.get(customer.id),
            guide=guides.get(customer.guide_id) if customer.guide_id is not None else None,
            first_touchpoint=customer.first_touchpoint,
            last_touchpoint=customer.last_touchpoint,
            last_touch_at=customer.last_touch_at,
            created_at=customer.created_at,
        )
        for customer in customers
    ]


__all__ = ["CustomerFilter", "search", "summaries"]
