"""The ``coupon`` pricing step and the ``coupons.redeem`` placement hook.

The step runs after tier prices and threshold offers, so a coupon's threshold is
measured on what eligible lines cost by then. It always lists the customer's coupons
for this cart — applicable ones with their value (best first), the rest with a reason
— and suggests the most valuable; it applies a coupon only when the buyer names it
(``options["coupon_code"]``, or several in ``options["coupon_codes"]`` when every pair
of templates allows stacking). Naming a coupon that is not the buyer's, is used or
expired, or does not fit this order, is a 4xx: the buyer never pays a price other
than the one they were shown.

Eligible lines: not ``price_locked`` (points-mall exchanges), not campaign-priced
unless the template allows it, inside the template's scope (categories include their
sub-categories). Store scope means the order's store (pick-up store, or the store of
a store-channel order) must be listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.core import clock, outbox
from siyu.core.db import rowcount
from siyu.coupons import rules
from siyu.coupons.errors import AlreadyUsed, CouponNotFound, Expired, NotApplicable, NotStackable
from siyu.models.coupon import Coupon, CouponKind, CouponScope, CouponStatus, CouponTemplate
from siyu.models.order import Fulfilment, Order, OrderLine
from siyu.orders import checkout
from siyu.orders.pricing import pipeline

DETAILS_KEY = "coupon"
COUPON_REDEEMED = "coupon.redeemed"
MAX_CODES = 3


@dataclass
class Evaluation:
    coupon: Coupon
    template: CouponTemplate
    discount: int
    reason: str | None
    lines: list[pipeline.PricingLine]
    shortfall: int = 0

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "code": self.coupon.code,
            "template_id": self.template.id,
            "name": self.template.name,
            "kind": self.template.kind,
            "valid_until": self.coupon.valid_until.isoformat(),
        }
        if self.reason is None:
            data["discount"] = self.discount
        else:
            data["reason"] = self.reason
            if self.shortfall:
                data["shortfall"] = self.shortfall
        return data


def _eligible_lines(
    session: Session,
    context: pipeline.PricingContext,
    template: CouponTemplate,
    closures: dict[int, set[int]],
) -> list[pipeline.PricingLine]:
    lines = [
        line
        for line in context.lines
        if not line.price_locked and (line.campaign_id is None or template.allow_on_campaign_price)
    ]
    ids = set(template.scope_ids or [])
    if template.scope == CouponScope.CATEGORIES:
        if template.id not in closures:
            closures[template.id] = rules.category_closure(session, ids)
        allowed = closures[template.id]
        return [line for line in lines if line.sku.category_id in allowed]
    if template.scope == CouponScope.PRODUCTS:
        return [line for line in lines if line.sku.product_id in ids]
    if template.scope == CouponScope.STORES:
        return lines if context.store_id in ids else []
    return lines


def _percent_discount(template: CouponTemplate, amount: int) -> int:
    # The buyer pays rate‱ rounded up to the fen, so the discount is rounded down.
    rate = template.discount_rate or 10000
    discount = amount - -(-amount * rate // 10000)
    if template.max_discount_amount is not None:
        discount = min(discount, template.max_discount_amount)
    return discount


def evaluate(
    session: Session,
    context: pipeline.PricingContext,
    coupon: Coupon,
    template: CouponTemplate,
    now: datetime,
    closures: dict[int, set[int]],
) -> Evaluation:
    """What ``coupon`` would take off this order now, or why it cannot be used."""

    def refused(reason: str, shortfall: int = 0) -> Evaluation:
        return Evaluation(coupon, template, 0, reason, [], shortfall)

    if coupon.status == CouponStatus.USED:
        return refused("used")
    if coupon.status != CouponStatus.AVAILABLE or coupon.valid_until <= now:
        return refused("expired")
    if coupon.valid_from > now:
        return refused("not_yet_valid")
    if context.channel.value not in (template.channels or []):
        return refused("channel")
    lines = _eligible_lines(session, context, template, closures)
    if not lines:
        return refused("scope")
    eligible = sum(line.goods_amount for line in lines)
    if eligible < template.threshold_amount:
        return refused("below_threshold", template.threshold_amount - eligible)
    kind = template.kind
    if kind in (CouponKind.THRESHOLD, CouponKind.NO_THRESHOLD):
        discount = min(template.discount_amount, eligible)
    elif kind == CouponKind.PERCENT_OFF:
        discount = _percent_discount(template, eligible)
    elif kind == CouponKind.GIFT:
        gift_lines = [line for line in lines if line.sku.sku_id == template.gift_sku_id]
        if not gift_lines:
            return refused("gift_not_in_order")
        line = gift_lines[0]
        # One unit at what it costs now (after earlier discounts), rounded down.
        discount = line.goods_amount // line.quantity
        lines = [line]
    else:
        if context.fulfilment != Fulfilment.DELIVERY or context.shipping_fee == 0:
            return refused("no_shipping_fee")
        if context.goods_amount >= context.free_shipping_threshold:
            return refused("already_free_shipping")
        discount = context.shipping_fee
    if discount <= 0:
        return refused("nothing_to_discount")
    return Evaluation(coupon, template, discount, None, lines)


def _customer_coupons(
    session: Session, customer_id: int, now: datetime
) -> list[tuple[Coupon, CouponTemplate]]:
    rows = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(
            Coupon.customer_id == customer_id,
            Coupon.status == CouponStatus.AVAILABLE,
            Coupon.valid_until > now,
        )
        .order_by(Coupon.valid_until, Coupon.id)
    )
    return list(rows)


def _named(session: Session, code: str, customer_id: int) -> tuple[Coupon, CouponTemplate]:
    row = session.execute(
        select(Coupon, CouponTemplate)
        .join(CouponTemplate, CouponTemplate.id == Coupon.template_id)
        .where(Coupon.code == code.strip().upper())
    ).first()
    # Someone else's coupon is reported exactly like one that does not exist.
    if row is None or row[0].customer_id != customer_id:
        raise CouponNotFound(data={"code": code})
    return row[0], row[1]


def _apply(context: pipeline.PricingContext, evaluation: Evaluation) -> None:
    template = evaluation.template
    label = f"优惠券 {template.name}"
    if template.kind == CouponKind.FREE_SHIPPING:
        # The shipping step charges nothing at or above a threshold of 0.
        context.free_shipping_threshold = 0
        return
    applied = context.discount_order(
        step=pipeline.COUPON,
        kind=template.kind,
        amount=evaluation.discount,
        label=label,
        lines=evaluation.lines,
        reference=f"coupon:{evaluation.coupon.code}",
    )
    evaluation.discount = applied


def _requested_codes(context: pipeline.PricingContext) -> list[str]:
    raw = context.options.get("coupon_codes")
    codes: list[str] = []
    if isinstance(raw, list):
        codes = [str(code) for code in raw if code]
    single = context.options.get("coupon_code")
    if single and str(single) not in codes:
        codes.insert(0, str(single))
    if len(codes) > MAX_CODES:
        raise NotStackable(data={"codes": codes, "max": MAX_CODES})
    return codes


def coupon_step(session: Session, context: pipeline.PricingContext) -> None:
    codes = _requested_codes(context)
    if context.customer_id is None:
        if codes:
            raise CouponNotFound(data={"code": codes[0]})
        return
    now = clock.now()
    closures: dict[int, set[int]] = {}
    evaluations = [
        evaluate(session, context, coupon, template, now, closures)
        for coupon, template in _customer_coupons(session, context.customer_id, now)
    ]
    usable = sorted(
        (e for e in evaluations if e.reason is None),
        key=lambda e: (-e.discount, e.coupon.valid_until, e.coupon.id),
    )
    details: dict[str, Any] = {
        "applied": None,
        "applied_all": [],
        "suggested": usable[0].as_dict() if usable else None,
        "applicable": [e.as_dict() for e in usable],
        "unavailable": [e.as_dict() for e in evaluations if e.reason is not None],
    }
    context.details[DETAILS_KEY] = details
    applied: list[Evaluation] = []
    for code in codes:
        coupon, template = _named(session, code, context.customer_id)
        for earlier in applied:
            if not rules.stackable(earlier.template, template):
                raise NotStackable(data={"codes": codes})
        # Evaluated again after the coupons before it took their share.
        evaluation = evaluate(session, context, coupon, template, now, closures)
        if evaluation.reason == "used":
            raise AlreadyUsed(data={"code": coupon.code})
        if evaluation.reason == "expired":
            raise Expired(data={"code": coupon.code})
        if evaluation.reason is not None:
            raise NotApplicable(data=evaluation.as_dict())
        _apply(context, evaluation)
        applied.append(evaluation)
    details["applied_all"] = [e.as_dict() for e in applied]
    details["applied"] = details["applied_all"][0] if applied else None


def redeem_on_placement(
    session: Session, order: Order, _lines: list[OrderLine], result: pipeline.PricingResult
) -> None:
    """Mark the coupons the order was priced with as used, in the order's transaction.

    available → used is a conditional UPDATE: of two checkouts racing with one coupon,
    the second matches no row and raises ``coupon.already_used``, which rolls its
    whole order back.
    """
    details = result.details.get(DETAILS_KEY) or {}
    now = clock.now()
    for applied in details.get("applied_all") or []:
        matched = session.execute(
            update(Coupon)
            .where(
                Coupon.code == applied["code"],
                Coupon.customer_id == order.customer_id,
                Coupon.status == CouponStatus.AVAILABLE,
                Coupon.valid_until > now,
            )
            .values(
                status=CouponStatus.USED,
                order_id=order.id,
                used_at=now,
                discount_amount=applied["discount"],
            )
            .execution_options(synchronize_session=False)
        )
        if rowcount(matched) != 1:
            raise AlreadyUsed(data={"code": applied["code"]})
        coupon_id = session.scalars(select(Coupon.id).where(Coupon.code == applied["code"])).one()
        outbox.emit(
            session,
            COUPON_REDEEMED,
            {
                "coupon_id": coupon_id,
                "template_id": applied["template_id"],
                "customer_id": order.customer_id,
                "order_id": order.id,
                "discount_amount": applied["discount"],
            },
        )


pipeline.register_step(pipeline.COUPON, coupon_step)
checkout.register_placement_hook("coupons.redeem", redeem_on_placement)
