"""Real checkouts in the demo's last weeks, with the best coupon and points.

Each goes through ``siyu.orders.checkout``: a quote first (what the storefront shows),
then the order with the suggested coupon and as many points as the cap allows, paid
through the sandbox provider. The last few are left waiting for payment, inside
their payment window, as a live shop always has some.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.demo.offers.context import DEMO_ADDRESS, Action, Context, Step, pick
from siyu.demo.offers.coupons import STORE
from siyu.demo.offers.payments import pay
from siyu.models.catalog import Product, ProductStatus, SalesChannel, Sku
from siyu.models.coupon import Coupon, CouponStatus
from siyu.models.member import Membership
from siyu.orders import checkout

WINDOW_DAYS = 21
# Points below this are not worth a checkout's deduction (100 points = ¥1).
MIN_POINTS = 100


def mall_skus(session: Session) -> list[int]:
    rows = session.execute(
        select(Sku.id, Sku.channels)
        .join(Product, Product.id == Sku.product_id)
        .where(Product.status == ProductStatus.ON_SALE, Sku.is_active.is_(True))
        .order_by(Sku.id)
    ).all()
    return [sku_id for sku_id, channels in rows if SalesChannel.MALL in (channels or [])]


def _coupon_holder(session: Session, ctx: Context) -> int | None:
    """A customer holding a coupon the mall takes now (the store-only one is not)."""
    now = ctx.clock.now()
    store_only = ctx.templates[STORE][0]
    return pick(
        session,
        ctx.rng,
        Coupon.id,
        Coupon.customer_id,
        Coupon.status == CouponStatus.AVAILABLE,
        Coupon.valid_from <= now,
        Coupon.valid_until > now,
        Coupon.template_id != store_only,
    )


def _points_holder(session: Session, ctx: Context) -> int | None:
    return pick(
        session,
        ctx.rng,
        Membership.customer_id,
        Membership.customer_id,
        Membership.points_balance >= MIN_POINTS,
    )


def _checkout(skus: list[int], *, paid: bool) -> Step:
    def run(session: Session, ctx: Context) -> None:
        rng = ctx.rng
        wants_coupon = rng.random() < 0.75
        customer_id = _coupon_holder(session, ctx) if wants_coupon else _points_holder(session, ctx)
        if customer_id is None:
            return
        items = [
            checkout.ItemInput(sku_id, rng.randint(1, 2))
            for sku_id in rng.sample(skus, min(len(skus), rng.randint(1, 3)))
        ]
        request = checkout.CheckoutInput(
            items=items,
            address=dict(DEMO_ADDRESS),
            attribution=checkout.Attribution(touchpoint="mp"),
        )
        details = checkout.quote(session, customer_id, request, ctx.settings).details
        options: dict[str, Any] = {}
        suggested = (details.get("coupon") or {}).get("suggested")
        if suggested:
            options["coupon_code"] = suggested["code"]
        max_points = int((details.get("points") or {}).get("max_points") or 0)
        if max_points >= MIN_POINTS and rng.random() < 0.7:
            options["points"] = max_points
        order, _lines = checkout.place_order(
            session,
            ctx.cipher,
            customer_id,
            checkout.CheckoutInput(
                items=items,
                address=dict(DEMO_ADDRESS),
                options=options,
                attribution=request.attribution,
            ),
            ctx.settings,
        )
        ctx.counts["checkouts"] += 1
        ctx.counts["checkouts_with_coupon"] += "coupon_code" in options
        ctx.counts["checkouts_with_points"] += "points" in options
        if paid:
            pay(session, ctx, order)
            ctx.counts["checkouts_paid"] += 1

    return run


def plan(session: Session, ctx: Context) -> list[Action]:
    skus = mall_skus(session)
    if not skus:
        return []
    total = ctx.scaled(300, 20)
    unpaid = max(1, total // 12)
    now = ctx.now
    actions = []
    earliest = max(ctx.start, now - timedelta(days=WINDOW_DAYS))
    span = (now - timedelta(hours=1) - earliest).total_seconds()
    for _ in range(total - unpaid):
        at = earliest + timedelta(seconds=ctx.rng.uniform(0, max(span, 60.0)))
        actions.append(Action(at, "checkout", _checkout(skus, paid=True)))
    for _ in range(unpaid):
        # Inside the payment window at "now": still honestly pending.
        at = now - timedelta(minutes=ctx.rng.uniform(2, 20))
        actions.append(Action(at, "checkout", _checkout(skus, paid=False)))
    return actions
