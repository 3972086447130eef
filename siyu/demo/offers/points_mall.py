"""The demo points mall: a ¥5 coupon, a canvas bag and a lipstick mini, and the
members who exchanged their points for them.

The two goods are real catalog products (mall only, stocked at the warehouse),
because an exchange is an order through the mall: fulfilment and refunds work as
for any order.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog import products, stock
from siyu.catalog.schemas import ProductIn, SkuIn
from siyu.demo.offers.context import DEMO_ADDRESS, Action, Context, Step, pick
from siyu.demo.offers.coupons import MALL_FIVE
from siyu.demo.offers.payments import pay
from siyu.members import points_mall, points_mall_exchange
from siyu.members import points_mall_pricing as _pricing  # noqa: F401  (registers the step)
from siyu.members.points_mall_schemas import ItemIn
from siyu.models.catalog import ProductStatus, SalesChannel
from siyu.models.location import Location, LocationKind
from siyu.models.member import Membership, PointsMallItemKind

COUPON_ITEM = "coupon_5"
BAG = "canvas_bag"
LIPSTICK = "lipstick_mini"
OPENED_DAYS_AGO = 15
PRICES = {COUPON_ITEM: 500, BAG: 2_000, LIPSTICK: 800}


def _goods(session: Session, ctx: Context, code: str, name: str, price: int) -> int:
    product = products.create_product(
        session,
        ctx.actor,
        ProductIn(
            code=code,
            name=name,
            subtitle="积分商城专享",
            skus=[
                SkuIn(
                    code=f"{code}-01",
                    list_price=price,
                    sale_price=price,
                    channels=[SalesChannel.MALL],
                    per_order_limit=2,
                )
            ],
        ),
    )
    products.change_status(session, ctx.actor, product.id, ProductStatus.ON_SALE)
    sku_id = products.skus_of(session, product.id)[0].id
    warehouse = session.scalars(
        select(Location.id).where(Location.kind == LocationKind.WAREHOUSE).order_by(Location.id)
    ).first()
    if warehouse is not None:
        stock.receive(
            session,
            [stock.StockItem(sku_id, warehouse, 500)],
            actor=ctx.actor.username,
            reason="积分商城备货",
        )
    return sku_id


def _open(session: Session, ctx: Context) -> None:
    bag_sku = _goods(session, ctx, "PM-BAG", "拾光帆布袋", 3_900)
    mini_sku = _goods(session, ctx, "PM-LIP-MINI", "丝绒口红 mini 装", 5_900)
    valid_until = ctx.now + timedelta(days=90)
    bodies = {
        COUPON_ITEM: ItemIn(
            kind=PointsMallItemKind.COUPON,
            name="¥5 无门槛券",
            coupon_template_id=ctx.templates[MALL_FIVE][0],
            points_price=PRICES[COUPON_ITEM],
            stock_total=5_000,
            per_member_limit=5,
            valid_until=valid_until,
            sort=30,
        ),
        BAG: ItemIn(
            kind=PointsMallItemKind.GOODS,
            name="拾光帆布袋",
            sku_id=bag_sku,
            points_price=PRICES[BAG],
            stock_total=300,
            per_member_limit=1,
            valid_until=valid_until,
            sort=20,
        ),
        LIPSTICK: ItemIn(
            kind=PointsMallItemKind.GOODS,
            name="丝绒口红 mini 装",
            sku_id=mini_sku,
            points_price=PRICES[LIPSTICK],
            cash_price=990,
            stock_total=400,
            per_member_limit=2,
            valid_until=valid_until,
            sort=10,
        ),
    }
    for key, body in bodies.items():
        item = points_mall.create(session, ctx.actor, body)
        points_mall.set_status(session, ctx.actor, item.id, points_mall.ACTIVE)
        ctx.mall_items[key] = item.id


def _exchange(key: str) -> Step:
    def run(session: Session, ctx: Context) -> None:
        if key not in ctx.mall_items:
            return
        customer_id = pick(
            session,
            ctx.rng,
            Membership.customer_id,
            Membership.customer_id,
            Membership.points_balance >= PRICES[key],
        )
        if customer_id is None:
            return
        item = points_mall.get(session, ctx.mall_items[key])
        if key == COUPON_ITEM:
            points_mall_exchange.exchange_coupon(session, customer_id, item)
        else:
            _exchange_goods(session, ctx, customer_id, key)
        ctx.counts["exchanges"] += 1

    return run


def _exchange_goods(session: Session, ctx: Context, customer_id: int, key: str) -> None:
    item = points_mall.get(session, ctx.mall_items[key])
    _exchange_row, order = points_mall_exchange.exchange_goods(
        session,
        ctx.cipher,
        ctx.settings,
        customer_id,
        item,
        1,
        points_mall_exchange.GoodsRequest(address=dict(DEMO_ADDRESS), touchpoint="mp"),
    )
    if order.total_amount > 0:
        pay(session, ctx, order)


def plan(ctx: Context) -> list[Action]:
    now = ctx.now
    opened: datetime = max(ctx.start, now - timedelta(days=OPENED_DAYS_AGO))
    actions = [Action(opened, "points_mall", _open)]
    span = (now - timedelta(minutes=40) - opened).total_seconds()
    keys = [COUPON_ITEM] * 6 + [BAG] * 2 + [LIPSTICK] * 3
    for _ in range(ctx.scaled(120, 10)):
        at = opened + timedelta(seconds=ctx.rng.uniform(60, max(span, 120.0)))
        actions.append(Action(at, "exchange", _exchange(ctx.rng.choice(keys))))
    return actions
