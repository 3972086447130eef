"""Shaping templates and coupons for the APIs and pages (rules summary, live stats)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.coupons import rules, stats
from siyu.coupons.schemas import RuleLine, ShopCouponOut, TemplateOut
from siyu.models.coupon import Coupon, CouponTemplate


def rule_lines(session: Session, template: CouponTemplate, zone: ZoneInfo) -> list[RuleLine]:
    lines = rules.summary(template, zone=zone, gift_name=rules.gift_name(session, template))
    return [RuleLine(**line) for line in lines]


def template_out(
    session: Session, template: CouponTemplate, zone: ZoneInfo, *, with_stats: bool = True
) -> TemplateOut:
    return templates_out(session, [template], zone, with_stats=with_stats)[0]


def templates_out(
    session: Session, items: list[CouponTemplate], zone: ZoneInfo, *, with_stats: bool = True
) -> list[TemplateOut]:
    for template in items:
        # Counters move by Core UPDATEs (races): read the committed values.
        session.refresh(template)
    figures = stats.for_templates(session, items) if with_stats else {}
    out = []
    for template in items:
        data = {
            column: getattr(template, column)
            for column in TemplateOut.model_fields
            if hasattr(template, column)
        }
        data["rules"] = rule_lines(session, template, zone)
        data["stats"] = figures.get(template.id)
        out.append(TemplateOut.model_validate(data))
    return out


def shop_coupon_out(
    session: Session, coupon: Coupon, template: CouponTemplate, zone: ZoneInfo
) -> ShopCouponOut:
    return shop_coupon_from(
        template,
        rule_lines(session, template, zone),
        code=coupon.code,
        status=coupon.status,
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
        used_at=coupon.used_at,
    )


def shop_coupon_from(
    template: CouponTemplate,
    rules: list[RuleLine],
    *,
    code: str,
    status: str,
    valid_from: datetime,
    valid_until: datetime,
    used_at: datetime | None,
) -> ShopCouponOut:
    """A buyer's coupon from its template and its own fields (the claim fast path
    has no ``Coupon`` object, only what it wrote)."""
    return ShopCouponOut(
        code=code,
        status=status,
        template_public_id=template.public_id,
        name=template.name,
        kind=template.kind,
        threshold_amount=template.threshold_amount,
        discount_amount=template.discount_amount,
        discount_rate=template.discount_rate,
        max_discount_amount=template.max_discount_amount,
        valid_from=valid_from,
        valid_until=valid_until,
        used_at=used_at,
        rules=rules,
    )
