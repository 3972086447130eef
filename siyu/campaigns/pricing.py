"""The ``campaign_price`` pricing step and the ``campaigns.placed`` placement hook,
shared by every mechanic that sells at a campaign price (flash sale, group buy,
bargain, assist's 0-yuan claim).

A mechanic checks its own rules first (the reservation is the buyer's, the group is
open, the bargain reached its price), then places an ordinary mall order through
``siyu.orders.checkout.place_order`` with ``options={OPTION: CampaignOption(...)}``.
A buyer's JSON can never produce a ``CampaignOption``, so campaign prices only come
from a mechanic's service, never from a hand-made checkout request.

The step prices each named SKU's line at the agreed unit price (never above what the
line costs now), marks it with the campaign so the tier discount and coupons leave it
alone (unless a coupon template allows campaign lines), and records the option in
``details`` for the hook. The hook then calls the mechanic's ``on_placed`` in the
order's transaction: a reservation marked ordered, a group member recorded. If that
raises, the whole order rolls back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from siyu.core.errors import ValidationFailed
from siyu.models.campaign import CampaignKind
from siyu.models.order import Order, OrderLine
from siyu.orders import checkout
from siyu.orders.pricing import pipeline

OPTION = "campaign"
HOOK_NAME = "campaigns.placed"
LABELS = {
    CampaignKind.FLASH_SALE: "秒杀价",
    CampaignKind.GROUP_BUY: "拼团价",
    CampaignKind.BARGAIN: "砍价",
    CampaignKind.ASSIST: "助力领取",
    CampaignKind.LOTTERY: "抽奖奖品",
    CampaignKind.REFERRAL: "分销",
}


class InvalidCampaignOrder(ValidationFailed):
    code = "campaign.invalid_order"
    message = "This order does not match its campaign."


@dataclass(frozen=True)
class CampaignOption:
    kind: CampaignKind
    campaign_id: int
    # The mechanic's own row behind this order: a reservation, a group member, a bargain.
    reference_id: int
    # Agreed price per unit, by SKU id; every line of the order must be named here.
    unit_prices: dict[int, int] = field(default_factory=dict)
    # Free shipping for the order (a 0-yuan claim, a lottery prize).
    free_shipping: bool = False


PlacedHandler = Callable[[Session, Order, list[OrderLine], CampaignOption], None]
_placed: dict[str, PlacedHandler] = {}


def register_placed(kind: CampaignKind, handler: PlacedHandler) -> None:
    if kind.value in _placed:
        raise ValueError(f"placement for {kind.value!r} is already registered")
    _placed[kind.value] = handler


def option_of(context: pipeline.PricingContext) -> CampaignOption | None:
    option = context.options.get(OPTION)
    if option is None:
        return None
    if not isinstance(option, CampaignOption):
        raise InvalidCampaignOrder(
            "Campaign orders are placed through their campaign.", data={"field": OPTION}
        )
    return option


def price_campaign_lines(_session: Session, context: pipeline.PricingContext) -> None:
    option = option_of(context)
    if option is None:
        return
    label = LABELS[option.kind]
    for line in context.lines:
        unit_price = option.unit_prices.get(line.sku.sku_id)
        if unit_price is None or unit_price < 0:
            raise InvalidCampaignOrder(data={"sku_id": line.sku.sku_id})
        wanted = unit_price * line.quantity
        change = min(wanted, line.goods_amount) - line.goods_amount
        if change:
            line.adjustments.append(
                pipeline.Adjustment(
                    pipeline.CAMPAIGN_PRICE,
                    option.kind.value,
                    change,
                    label,
                    reference=f"campaign:{option.campaign_id}:{option.reference_id}",
                )
            )
        line.campaign_id = option.campaign_id
    if option.free_shipping:
        context.free_shipping_threshold = 0
    context.details[OPTION] = {
        "kind": option.kind.value,
        "campaign_id": option.campaign_id,
        "reference_id": option.reference_id,
    }


def on_placement(
    session: Session, order: Order, lines: list[OrderLine], result: pipeline.PricingResult
) -> None:
    detail = result.details.get(OPTION)
    if not detail:
        return
    handler = _placed.get(str(detail["kind"]))
    if handler is None:
        return
    handler(
        session,
        order,
        lines,
        CampaignOption(
            kind=CampaignKind(detail["kind"]),
            campaign_id=int(detail["campaign_id"]),
            reference_id=int(detail["reference_id"]),
        ),
    )


pipeline.register_step(pipeline.CAMPAIGN_PRICE, price_campaign_lines)
checkout.register_placement_hook(HOOK_NAME, on_placement)
