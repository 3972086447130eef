"""Staff-initiated issuing: a guide sends one coupon; a bulk grant gives one template
to a list of customers (a CSV of ids) in one request.

Each row is issued through ``issuing.issue`` (source ``grant``), so quantity, limits
and tiers apply as for any claim; a refused row is reported with its error code and
changes nothing, and the rest of the grant goes on. The grant is capped at
``MAX_ROWS`` so one request stays within a transaction's reasonable size.
"""

from __future__ import annotations

import csv
import io

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.coupons import issuing, templates
from siyu.coupons.errors import GrantTooLarge, InvalidGrant
from siyu.coupons.schemas import GrantOut, GrantRowOut
from siyu.customers.errors import CustomerNotFound
from siyu.models.coupon import Coupon, CouponSource, CouponTemplate
from siyu.models.customer import Customer, CustomerStatus
from siyu.staff import audit
from siyu.staff.principal import Principal
from siyu.staff.scope import scoped

MAX_ROWS = 50_000
MAX_ID = 2**63 - 1


def parse(text: str) -> list[tuple[int, str]]:
    """(row number, raw value) of each customer id: a ``customer_id`` column when the
    first row names one, else the first column of every non-blank line."""
    rows = [
        row for row in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(c.strip() for c in row)
    ]
    if not rows:
        raise InvalidGrant("The file holds no customer ids.")
    header = [cell.strip().lower() for cell in rows[0]]
    column = 0
    start = 0
    if "customer_id" in header:
        column, start = header.index("customer_id"), 1
    values = [
        (number, row[column].strip() if column < len(row) else "")
        for number, row in enumerate(rows[start:], start=start + 1)
    ]
    if len(values) > MAX_ROWS:
        raise GrantTooLarge(data={"rows": len(values), "max_rows": MAX_ROWS})
    return values


def grant(session: Session, actor: Principal, template_id: int, text: str) -> GrantOut:
    template = templates.get(session, template_id)
    return _grant_rows(session, actor, template, parse(text), detail={})


def grant_segment(
    session: Session, actor: Principal, template_id: int, segment_id: int
) -> GrantOut:
    """Grant to every current member of a segment (人群包), one row per member in id
    order, issued and reported exactly like a CSV grant."""
    from siyu.audiences.segments import service as segments
    from siyu.models.audience import SegmentMember

    template = templates.get(session, template_id)
    segment = segments.get(session, segment_id)
    member_ids = list(
        session.scalars(
            select(SegmentMember.customer_id)
            .where(SegmentMember.segment_id == segment.id)
            .order_by(SegmentMember.customer_id)
            .limit(MAX_ROWS + 1)
        )
    )
    if len(member_ids) > MAX_ROWS:
        raise GrantTooLarge(data={"rows": segment.member_count, "max_rows": MAX_ROWS})
    values = [(number, str(customer_id)) for number, customer_id in enumerate(member_ids, 1)]
    return _grant_rows(session, actor, template, values, detail={"segment_id": segment.id})


def _grant_rows(
    session: Session,
    actor: Principal,
    template: CouponTemplate,
    values: list[tuple[int, str]],
    *,
    detail: dict[str, int],
) -> GrantOut:
    ids = {int(raw) for _, raw in values if raw.isdigit() and 0 < int(raw) <= MAX_ID}
    active: set[int] = set()
    id_list = sorted(ids)
    for start in range(0, len(id_list), 1000):
        chunk = id_list[start : start + 1000]
        active.update(
            session.scalars(
                select(Customer.id).where(
                    Customer.id.in_(chunk), Customer.status == CustomerStatus.ACTIVE
                )
            )
        )
    results: list[GrantRowOut] = []
    for number, raw in values:
        if not (raw.isdigit() and 0 < int(raw) <= MAX_ID):
            results.append(
                GrantRowOut(row=number, customer_id=None, status="skipped", code="grant.invalid_id")
            )
            continue
        customer_id = int(raw)
        if customer_id not in active:
            results.append(
                GrantRowOut(
                    row=number, customer_id=customer_id, status="skipped", code="customer.not_found"
                )
            )
            continue
        try:
            coupon = issuing.issue(
                session,
                template.id,
                customer_id,
                source=CouponSource.GRANT,
                source_ref=f"grant:{actor.username}",
                actor=actor.username,
            )
        except SiyuError as error:
            results.append(
                GrantRowOut(row=number, customer_id=customer_id, status="skipped", code=error.code)
            )
            continue
        results.append(
            GrantRowOut(row=number, customer_id=customer_id, status="issued", code=coupon.code)
        )
    issued = sum(1 for row in results if row.status == "issued")
    audit.record(
        session,
        actor,
        "coupon.grant",
        target_type="coupon_template",
        target_id=template.id,
        detail={"rows": len(values), "issued": issued, **detail},
    )
    return GrantOut(
        template_id=template.id,
        rows=len(values),
        issued=issued,
        skipped=len(values) - issued,
        results=results,
    )


def send(session: Session, actor: Principal, template_id: int, customer_id: int) -> Coupon:
    """A guide (or any staff with ``coupons.redeem``) sends one coupon to a customer
    they can see: guides their own customers, store managers their store's."""
    visible = session.scalar(
        scoped(select(Customer.id).where(Customer.id == customer_id), Customer, actor)
    )
    if visible is None:
        raise CustomerNotFound(data={"customer_id": customer_id})
    coupon = issuing.issue(
        session,
        template_id,
        customer_id,
        source=CouponSource.GUIDE,
        source_ref=f"staff:{actor.staff_id or actor.username}",
        actor=actor.username,
    )
    audit.record(
        session,
        actor,
        "coupon.send",
        target_type="coupon",
        target_id=coupon.id,
        detail={"template_id": template_id, "customer_id": customer_id},
    )
    return coupon
