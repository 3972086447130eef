"""The members' pricing steps and the placement hook that spends priced points.

``member_tier``: the tier's ``discount_rate`` on every line that is neither
price-locked (points-mall exchanges) nor campaign-priced. A campaign price is
already the brand's deepest deliberate price for that item; stacking the tier
discount on it would sell flash-sale stock below what the campaign was costed at,
so campaign lines keep their campaign price. The tier's ``free_shipping_threshold``
lowers the shop's when it is lower.

``points``: ``options["points"]`` asks to spend points. Capped by the balance and by
``spend_cap_percent`` of the non-locked lines' goods (after tier, offers and coupon),
converted at ``points_value`` points per yuan and rounded down to whole fen; only the
points that buy those whole fen are spent. ``details["points"]`` carries the result,
and the ``members.points`` placement hook spends exactly ``spend_points`` in the
order's transaction — a racing checkout that finds the balance gone raises
``points.insufficient`` and its whole order rolls back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.members import benefits, memberships, points, program
from siyu.members.errors import PointsBelowMinimum, PointsInsufficient, PointsInvalidAmount
from siyu.models.order import Order, OrderLine
from siyu.orders import checkout
from siyu.orders.pricing import pipeline
from siyu.orders.pricing.pipeline import Adjustment, PricingContext

NO_DISCOUNT = 10000
PLACEMENT_HOOK = "members.points"


def _rate_label(rate: int) -> str:
    # 9500 → "9.5折", 9000 → "9折": how Chinese shops write a discount.
    return f"{rate / 1000:g}折"


def _discount_lines(
    context: PricingContext, *, rate: int, kind: str, label: str, reference: str
) -> int:
    """Take ``rate`` (basis points paid) off every line that is neither price-locked
    nor campaign-priced; returns the total discount (fen)."""
    total = 0
    if rate >= NO_DISCOUNT:
        return 0
    for line in context.lines:
        if line.price_locked or line.campaign_id is not None:
            continue
        # Round the discount down: the rate is a promise, never exceeded by a fen.
        discount = max(line.goods_amount, 0) * (NO_DISCOUNT - rate) // NO_DISCOUNT
        if discount:
            line.adjustments.append(
                Adjustment(pipeline.MEMBER_TIER, kind, -discount, label, reference=reference)
            )
            total += discount
    return total


def member_tier_step(session: Session, context: PricingContext) -> None:
    if context.customer_id is None:
        return
    tier = memberships.tier_of(session, context.customer_id)
    if tier is None:
        return
    if (
        tier.free_shipping_threshold is not None
        and tier.free_shipping_threshold < context.free_shipping_threshold
    ):
        context.free_shipping_threshold = tier.free_shipping_threshold
    discounted = _discount_lines(
        context,
        rate=tier.discount_rate,
        kind="tier_discount",
        label=f"{tier.name} {_rate_label(tier.discount_rate)}",
        reference=f"tier:{tier.code}",
    )
    # The member day's extra discount (``siyu.members.benefits``) comes on top of the
    # tier's, on the same lines.
    day_rate = benefits.member_day_discount_rate(session, context.customer_id, clock.now())
    day_discount = _discount_lines(
        context,
        rate=day_rate,
        kind="member_day_discount",
        label=f"会员日 {_rate_label(day_rate)}",
        reference="member_day",
    )
    context.details["member_tier"] = {
        "tier_id": tier.id,
        "code": tier.code,
        "name": tier.name,
        "discount_rate": tier.discount_rate,
        "discount_amount": discounted,
        "member_day_discount_rate": day_rate,
        "member_day_discount_amount": day_discount,
        "free_shipping_threshold": context.free_shipping_threshold,
    }


def _requested(context: PricingContext) -> int:
    value = context.options.get("points", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PointsInvalidAmount(data={"points": value})
    return value


def points_step(session: Session, context: PricingContext) -> None:
    if context.customer_id is None:
        return
    requested = _requested(context)
    available, _frozen = points.balance(session, context.customer_id)
    if not requested and not available:
        return
    if requested > available:
        raise PointsInsufficient(data={"balance": available, "requested": requested})
    config = program.current(session)
    if 0 < requested < config.min_spend_points:
        raise PointsBelowMinimum(data={"minimum": config.min_spend_points, "requested": requested})
    eligible = [line for line in context.lines if not line.price_locked]
    goods = sum(max(line.goods_amount, 0) for line in eligible)
    cap_fen = goods * config.spend_cap_percent // 100
    max_points = min(available, cap_fen * config.points_value // 100)
    if max_points < config.min_spend_points:
        max_points = 0
    use = min(requested, max_points)
    deduction = use * 100 // config.points_value
    # The points that buy exactly ``deduction`` fen (a remainder below one fen is kept).
    spend_points = -(-deduction * config.points_value // 100)
    if deduction:
        applied = context.discount_order(
            step=pipeline.POINTS,
            kind="points",
            amount=deduction,
            label=f"积分抵扣 {spend_points}",
            lines=eligible,
            reference="points",
        )
        assert applied == deduction, "the cap keeps the deduction within the goods"
    if requested > max_points:
        context.messages.append(f"本单最多可用 {max_points} 积分")
    context.details["points"] = {
        "balance": available,
        "max_points": max_points,
        "requested": requested,
        "spend_points": spend_points,
        "deduction_amount": deduction,
        "points_value": config.points_value,
    }


def spend_priced_points(
    session: Session, order: Order, _lines: list[OrderLine], result: pipeline.PricingResult
) -> None:
    detail: dict[str, Any] = result.details.get("points") or {}
    amount = int(detail.get("spend_points") or 0)
    if amount <= 0:
        return
    points.spend(
        session,
        order.customer_id,
        amount,
        reference=f"order:{order.id}",
        reason="checkout",
        actor=f"order:{order.public_id}",
        order_id=order.id,
    )


pipeline.register_step(pipeline.MEMBER_TIER, member_tier_step)
pipeline.register_step(pipeline.POINTS, points_step)
checkout.register_placement_hook(PLACEMENT_HOOK, spend_priced_points)
