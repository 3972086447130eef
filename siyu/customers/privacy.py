"""PIPL rights: export everything held on a customer, and erase their personal data.

Erasure keeps the customer row and its id, so tracked events, channel-code visits
and (later) orders stay attached and analytics stay whole; what remains carries
only a random pseudonym (``anon_…``). Removed: name, gender, birthday, city,
consent, every identity (so the old phone or openid no longer finds this customer:
identifying with it afterwards creates a new customer), storefront sessions and
WeCom staff links. Kept: tags, guide and store assignment, touches (pseudonymous
attributes). Other domains holding copies react to the ``customer.erased`` domain
event. Erasing twice is refused with 409 ``customer.already_erased``: the first
erasure's audit row is the record, and a retrying client can treat the code as done.
"""

from __future__ import annotations

import secrets
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.orm import Session

from siyu.core import clock, outbox
from siyu.core.crypto import PiiCipher
from siyu.core.errors import Conflict, ValidationFailed
from siyu.customers.profile import find_customer, identity_value, merges_of, tags_of
from siyu.customers.schemas import EraseResult
from siyu.models.channel_code import ChannelCodeVisit
from siyu.models.customer import (
    Customer,
    CustomerIdentity,
    CustomerSession,
    CustomerStaffLink,
    CustomerStatus,
)
from siyu.models.tracking import TrackedEvent
from siyu.staff import audit
from siyu.staff.principal import Principal

MAX_REASON_LENGTH = 200


class AlreadyErased(Conflict):
    code = "customer.already_erased"
    message = "This customer's personal data has already been erased."


class ReasonRequired(ValidationFailed):
    code = "customer.erase_reason_required"
    message = "Say why the data is erased (1–200 characters)."


def _customer_record(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "status": customer.status,
        "pseudonym": customer.pseudonym,
        "name": customer.name,
        "gender": customer.gender,
        "birthday": customer.birthday.isoformat() if customer.birthday else None,
        "city": customer.city,
        "consent": customer.consent or {},
        "first_touchpoint": customer.first_touchpoint,
        "first_touch_channel_code_id": customer.first_touch_channel_code_id,
        "first_touch_at": customer.first_touch_at,
        "last_touchpoint": customer.last_touchpoint,
        "last_touch_channel_code_id": customer.last_touch_channel_code_id,
        "last_touch_at": customer.last_touch_at,
        "guide_id": customer.guide_id,
        "store_id": customer.store_id,
        "created_at": customer.created_at,
        "updated_at": customer.updated_at,
        "last_seen_at": customer.last_seen_at,
    }


def export_customer(
    session: Session, principal: Principal, cipher: PiiCipher, customer_id: int
) -> dict[str, Any]:
    """Everything held on the customer, unmasked (the caller holds customers.pii)."""
    customer = find_customer(session, principal, customer_id)
    identities = session.scalars(
        select(CustomerIdentity)
        .where(CustomerIdentity.customer_id == customer.id)
        .order_by(CustomerIdentity.id)
    )
    links = session.scalars(
        select(CustomerStaffLink)
        .where(CustomerStaffLink.customer_id == customer.id)
        .order_by(CustomerStaffLink.id)
    )
    visits = session.scalars(
        select(ChannelCodeVisit)
        .where(ChannelCodeVisit.customer_id == customer.id)
        .order_by(ChannelCodeVisit.occurred_at, ChannelCodeVisit.id)
    )
    events = session.scalars(
        select(TrackedEvent)
        .where(TrackedEvent.customer_id == customer.id)
        .order_by(TrackedEvent.occurred_at, TrackedEvent.id)
    )
    merged_records = session.scalars(
        select(Customer).where(Customer.merged_into_id == customer.id).order_by(Customer.id)
    )
    document: dict[str, Any] = {
        "exported_at": clock.now(),
        "customer": _customer_record(customer),
        "identities": [
            {
                "kind": row.kind,
                "namespace": row.namespace,
                "value": identity_value(cipher, row, reveal=True),
                "created_at": row.created_at,
                "last_seen_at": row.last_seen_at,
            }
            for row in identities
        ],
        "staff_links": [
            {
                "staff_id": row.staff_id,
                "corp_id": row.corp_id,
                "external_userid": row.external_userid,
                "state": row.state,
                "added_at": row.added_at,
                "removed_at": row.removed_at,
            }
            for row in links
        ],
        "tags": [tag.model_dump() for tag in tags_of(session, customer.id)],
        "merges": [merge.model_dump() for merge in merges_of(session, customer.id)],
        "merged_records": [_customer_record(row) for row in merged_records],
        "channel_code_visits": [
            {
                "channel_code_id": row.channel_code_id,
                "how": row.how,
                "is_new_customer": row.is_new_customer,
                "occurred_at": row.occurred_at,
            }
            for row in visits
        ],
        "tracked_events": [
            {
                "event_id": row.event_id,
                "type": row.type,
                "occurred_at": row.occurred_at,
                "received_at": row.received_at,
                "touchpoint": row.touchpoint,
                "channel_code_id": row.channel_code_id,
                "context": row.context or {},
                "properties": row.properties or {},
            }
            for row in events
        ],
    }
    audit.record(
        session,
        principal,
        "customer.export",
        target_type="customer",
        target_id=customer.id,
        detail={
            "requested_id": customer_id,
            "identities": len(document["identities"]),
            "tracked_events": len(document["tracked_events"]),
        },
    )
    return document


def _new_pseudonym() -> str:
    return "anon_" + secrets.token_hex(12)


def _deleted(
    session: Session,
    model: type[CustomerIdentity] | type[CustomerSession] | type[CustomerStaffLink],
    customer_ids: list[int],
) -> int:
    result = session.execute(delete(model).where(model.customer_id.in_(customer_ids)))
    return int(cast(CursorResult[Any], result).rowcount or 0)


def erase_customer(
    session: Session, principal: Principal, customer_id: int, *, reason: str
) -> EraseResult:
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise ReasonRequired()
    customer = find_customer(session, principal, customer_id)
    if customer.status == CustomerStatus.ERASED:
        raise AlreadyErased(data={"customer_id": customer.id, "pseudonym": customer.pseudonym})
    # Customers merged into this one keep their own rows (and may still hold the
    # personal data they had when merged): scrub those too.
    merged_ids = list(
        session.scalars(select(Customer.id).where(Customer.merged_into_id == customer.id))
    )
    every_id = [customer.id, *merged_ids]
    identities = _deleted(session, CustomerIdentity, every_id)
    sessions = _deleted(session, CustomerSession, every_id)
    links = _deleted(session, CustomerStaffLink, every_id)
    now = clock.now()
    if merged_ids:
        session.execute(
            update(Customer)
            .where(Customer.id.in_(merged_ids))
            .values(name=None, gender=None, birthday=None, city=None, consent={}, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    pseudonym = _new_pseudonym()
    customer.name = None
    customer.gender = None
    customer.birthday = None
    customer.city = None
    customer.consent = {}
    customer.status = CustomerStatus.ERASED
    customer.pseudonym = pseudonym
    customer.updated_at = now
    session.flush()
    result = EraseResult(
        customer_id=customer.id,
        status=customer.status,
        pseudonym=pseudonym,
        identities_removed=identities,
        sessions_removed=sessions,
        staff_links_removed=links,
        merged_records_scrubbed=len(merged_ids),
    )
    audit.record(
        session,
        principal,
        "customer.erase",
        target_type="customer",
        target_id=customer.id,
        detail={"reason": reason, **result.model_dump(exclude={"customer_id", "status"})},
    )
    outbox.emit(
        session,
        "customer.erased",
        {"customer_id": customer.id, "pseudonym": pseudonym, "merged_ids": merged_ids},
    )
    return result
