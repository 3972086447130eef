"""The ``points_exchange`` pricing step and the ``members.points_exchange`` placement
hook: how a points-mall goods exchange becomes an ordinary mall order.

The step runs right after ``base_price``. It prices the exchanged line at the item's
cash price (capped at the SKU's current price: an exchange never costs more than
buying), marks the line ``price_locked`` so tier, offers, coupons and points leave it
alone, and ships it free: the points already paid for the goods, so the order's
free-shipping threshold drops to 0. The hook then takes stock, tally and points in the
order's transaction (``points_mall_exchange.take_for_order``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.members.points_mall_errors import InvalidExchange
from siyu.members.points_mall_exchange import OPTION, ExchangeOption, take_for_order
from siyu.models.member import PointsMallItem, PointsMallItemKind
from siyu.models.order import Order, OrderLine
from siyu.orders import checkout
from siyu.orders.pricing import pipeline

HOOK_NAME = "members.points_exchange"
LABEL = "积分兑换"


def price_exchange(session: Session, context: pipeline.PricingContext) -> None:
    option = context.options.get(OPTION)
    if option is None:
        return
    if not isinstance(option, ExchangeOption):
        raise InvalidExchange(
            "Points exchanges are placed through the points mall.", data={"field": OPTION}
        )
    item = session.get(PointsMallItem, option.item_id)
    if item is None or item.kind != PointsMallItemKind.GOODS:
        raise InvalidExchange("Not a goods item.", data={"item_id": option.item_id})
    if (
        len(context.lines) != 1
        or context.lines[0].sku.sku_id != item.sku_id
        or context.lines[0].quantity != option.quantity
    ):
        raise InvalidExchange("An exchange order holds exactly the exchanged item.")
    line = context.lines[0]
    cash = min(item.cash_price * option.quantity, line.base_amount)
    line.adjustments.append(
        pipeline.Adjustment(
            pipeline.POINTS_EXCHANGE,
            "points_exchange",
            cash - line.base_amount,
            LABEL,
            reference=f"points_mall:{item.public_id}",
        )
    )
    line.price_locked = True
    context.free_shipping_threshold = 0
    context.details[OPTION] = {
        "item_id": item.id,
        "item_public_id": item.public_id,
        "quantity": option.quantity,
        "points": item.points_price * option.quantity,
        "cash_amount": cash,
    }


def take_on_placement(
    session: Session, order: Order, _lines: list[OrderLine], result: pipeline.PricingResult
) -> None:
    detail = result.details.get(OPTION)
    if not detail:
        return
    take_for_order(
        session, order, int(detail["item_id"]), int(detail["quantity"]), int(detail["cash_amount"])
    )


pipeline.register_step(pipeline.POINTS_EXCHANGE, price_exchange)
checkout.register_placement_hook(HOOK_NAME, take_on_placement)
