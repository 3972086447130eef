"""Preview a rule before saving it: how many customers, a few of them, its text."""

from __future__ import annotations

import time
from collections.abc import Collection, Mapping
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.audiences.rules.context import members, open_context
from siyu.audiences.rules.describe import describe
from siyu.audiences.rules.model import Rule
from siyu.audiences.rules.parse import referenced_tag_ids
from siyu.audiences.rules.schemas import RulePreviewOut, RuleSampleCustomer
from siyu.customers.profile import mask_name, may_see_pii
from siyu.models.customer import Customer, CustomerStatus, Tag
from siyu.staff.principal import Principal
from siyu.staff.scope import ScopeKind, scope_for, scoped
from siyu.warehouse.engine import Warehouse

MAX_SAMPLE = 20


def tag_names(session: Session, tag_ids: Collection[int]) -> dict[int, str]:
    """Tag id → "group/name" (or just the name) for the readable text."""
    if not tag_ids:
        return {}
    rows = session.execute(
        select(Tag.id, Tag.group_name, Tag.name).where(Tag.id.in_(list(tag_ids)))
    ).all()
    return {row.id: f"{row.group_name}/{row.name}" if row.group_name else row.name for row in rows}


def _visible_ids(session: Session, principal: Principal, ids: pa.Array, limit: int) -> list[int]:
    """The first ``limit`` of ``ids`` the caller may see (DESIGN.md convention 6)."""
    if scope_for(principal).kind is ScopeKind.ALL:
        candidates = ids.slice(0, limit * 2).to_pylist()
    else:
        # A guide's or a store's customers are few next to a brand-wide rule: take
        # theirs from the scoped statement and intersect, never the other way round.
        statement = scoped(select(Customer.id), Customer, principal)
        mine = pa.array(session.scalars(statement).all(), pa.int64())
        candidates = ids.filter(pc.is_in(ids, value_set=mine)).slice(0, limit * 2).to_pylist()
    if not candidates:
        return []
    statement = scoped(
        select(Customer.id).where(
            Customer.id.in_(candidates), Customer.status == CustomerStatus.ACTIVE
        ),
        Customer,
        principal,
    )
    return sorted(session.scalars(statement).all())[:limit]


def sample_customers(
    session: Session, principal: Principal, ids: pa.Array, *, limit: int = MAX_SAMPLE
) -> list[RuleSampleCustomer]:
    chosen = _visible_ids(session, principal, ids, min(limit, MAX_SAMPLE))
    if not chosen:
        return []
    reveal = may_see_pii(principal)
    customers = session.scalars(select(Customer).where(Customer.id.in_(chosen))).all()
    by_id = {customer.id: customer for customer in customers}
    return [
        RuleSampleCustomer(
            id=customer_id,
            name=by_id[customer_id].name if reveal else mask_name(by_id[customer_id].name),
            city=by_id[customer_id].city,
        )
        for customer_id in chosen
    ]


def preview(
    session: Session,
    wh: Warehouse,
    rule: Rule,
    *,
    now: datetime,
    principal: Principal,
    sample: int = MAX_SAMPLE,
    locale: str = "zh-CN",
    names: Mapping[int, str] | None = None,
) -> RulePreviewOut:
    started = time.perf_counter()
    tag_ids = referenced_tag_ids(rule)
    with open_context(session, wh, tag_ids=tag_ids) as con:
        ids = members(con, rule, now=now)
    return RulePreviewOut(
        count=len(ids),
        sample=sample_customers(session, principal, ids, limit=sample),
        text=describe(rule, locale=locale, tag_names=names or tag_names(session, tag_ids)),
        seconds=round(time.perf_counter() - started, 3),
    )
