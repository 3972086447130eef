"""Statistics per template, computed live from the coupon rows (indexed by
template and status) and the orders that used them.

GMV counts paid orders only (``paid_at`` set) at what they cost the buyer
(``total_amount``); the discount cost is what the coupon took off those orders.
Coupons written off at a till count as used (and as ``written_off``) but have no
order here, since the till's sale is not in the mall.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.coupons.schemas import TemplateStats
from siyu.models.coupon import Coupon, CouponStatus, CouponTemplate
from siyu.models.order import Order


def for_templates(
    session: Session, templates: Iterable[CouponTemplate]
) -> dict[int, TemplateStats]:
    items = list(templates)
    ids = [template.id for template in items]
    if not ids:
        return {}
    by_status: dict[int, dict[str, int]] = {template_id: {} for template_id in ids}
    for template_id, status, count in session.execute(
        select(Coupon.template_id, Coupon.status, func.count())
        .where(Coupon.template_id.in_(ids))
        .group_by(Coupon.template_id, Coupon.status)
    ):
        by_status[template_id][status] = count
    by_source: dict[int, dict[str, int]] = {template_id: {} for template_id in ids}
    for template_id, source, count in session.execute(
        select(Coupon.template_id, Coupon.source, func.count())
        .where(Coupon.template_id.in_(ids))
        .group_by(Coupon.template_id, Coupon.source)
    ):
        by_source[template_id][source] = count
    written_off: dict[int, int] = {
        template_id: count
        for template_id, count in session.execute(
            select(Coupon.template_id, func.count())
            .where(
                Coupon.template_id.in_(ids),
                Coupon.status == CouponStatus.USED,
                Coupon.used_store_id.is_not(None),
            )
            .group_by(Coupon.template_id)
        )
    }
    orders: dict[int, tuple[int, int, int]] = {}
    for template_id, order_count, gmv, cost in session.execute(
        select(
            Coupon.template_id,
            func.count(func.distinct(Order.id)),
            func.coalesce(func.sum(Order.total_amount), 0),
            func.coalesce(func.sum(Coupon.discount_amount), 0),
        )
        .join(Order, Order.id == Coupon.order_id)
        .where(
            Coupon.template_id.in_(ids),
            Coupon.status == CouponStatus.USED,
            Order.paid_at.is_not(None),
        )
        .group_by(Coupon.template_id)
    ):
        orders[template_id] = (int(order_count), int(gmv), int(cost))
    result = {}
    for template in items:
        statuses = by_status[template.id]
        order_count, gmv, cost = orders.get(template.id, (0, 0, 0))
        result[template.id] = TemplateStats(
            issued=template.issued_count,
            claimed_by_source=dict(sorted(by_source[template.id].items())),
            used=statuses.get(CouponStatus.USED, 0),
            written_off=int(written_off.get(template.id, 0)),
            expired=statuses.get(CouponStatus.EXPIRED, 0),
            available=statuses.get(CouponStatus.AVAILABLE, 0),
            revoked=statuses.get(CouponStatus.REVOKED, 0),
            orders=order_count,
            gmv=gmv,
            discount_cost=cost,
        )
    return result
