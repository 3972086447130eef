"""Offline write-off (核销): store staff take a coupon by its code at the till.

Store managers and guides write off only at their own store; brand-wide staff at any
active store. The coupon must be the ``store`` channel's, inside its store scope and
valid now. available → used is one conditional UPDATE, so a code shown at two tills
at once is taken once.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.catalog import prices
from siyu.core import clock, outbox
from siyu.core.db import rowcount
from siyu.coupons.errors import AlreadyUsed, CouponNotFound, Expired, NotApplicable, StoreNotAllowed
from siyu.models.coupon import Coupon, CouponScope, CouponStatus, CouponTemplate
from siyu.staff import audit
from siyu.staff.principal import Principal
from siyu.staff.scope import ScopeKind, scope_for

COUPON_WRITTEN_OFF = "coupon.written_off"


def find(session: Session, code: str) -> tuple[Coupon, CouponTemplate]:
    row = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.code == code.strip().upper())
    ).first()
    if row is None:
        raise CouponNotFound(data={"code": code})
    return row[0], row[1]


def _check_store(principal: Principal, store_id: int) -> None:
    scope = scope_for(principal)
    if scope.kind is ScopeKind.ALL:
        return
    if scope.kind is ScopeKind.NONE or principal.store_id != store_id:
        raise StoreNotAllowed(data={"store_id": store_id})


def write_off(
    session: Session, principal: Principal, code: str, store_id: int
) -> tuple[Coupon, CouponTemplate]:
    _check_store(principal, store_id)
    prices.active_store(session, store_id)
    coupon, template = find(session, code)
    now = clock.now()
    if coupon.status == CouponStatus.USED:
        raise AlreadyUsed(data={"code": coupon.code})
    if coupon.status != CouponStatus.AVAILABLE or coupon.valid_until <= now:
        raise Expired(data={"code": coupon.code})
    if coupon.valid_from > now:
        raise NotApplicable(data={"code": coupon.code, "reason": "not_yet_valid"})
    if "store" not in (template.channels or []):
        raise NotApplicable(data={"code": coupon.code, "reason": "channel"})
    if template.scope == CouponScope.STORES and store_id not in (template.scope_ids or []):
        raise NotApplicable(data={"code": coupon.code, "reason": "scope"})
    matched = session.execute(
        update(Coupon)
        .where(Coupon.id == coupon.id, Coupon.status == CouponStatus.AVAILABLE)
        .values(
            status=CouponStatus.USED,
            used_at=now,
            used_store_id=store_id,
            redeemed_by=principal.username[:64],
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(matched) != 1:
        raise AlreadyUsed(data={"code": coupon.code})
    session.refresh(coupon)
    audit.record(
        session,
        principal,
        "coupon.write_off",
        target_type="coupon",
        target_id=coupon.id,
        detail={"store_id": store_id, "template_id": template.id},
    )
    outbox.emit(
        session,
        COUPON_WRITTEN_OFF,
        {
            "coupon_id": coupon.id,
            "template_id": template.id,
            "customer_id": coupon.customer_id,
            "store_id": store_id,
            "staff": principal.username,
        },
    )
    return coupon, template
