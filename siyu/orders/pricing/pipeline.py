"""The pricing pipeline (issue 4 §3, docs/pricing.md).

Order of steps, fixed here and nowhere else:

    base_price → points_exchange → campaign_price → member_tier → threshold_offer
    → coupon → points → shipping

``base_price`` always runs (list/sale/store price from ``siyu.catalog.prices``) and so
does ``shipping``; the others are registered by the domains that own them (campaigns,
members, coupons) with ``register_step``. A step adds *adjustments*: negative amounts
for discounts, positive for fees. Line-level steps (a campaign price, a tier discount)
adjust the lines they apply to; order-level steps (满减, a coupon, points) call
``PricingContext.discount_order`` which spreads the amount over eligible lines with the
largest-remainder method, so every line knows exactly what it cost.

Invariants, checked after every run (a violation is a bug, not bad input):
each line's payable = Σ its adjustments ≥ 0; the order total = Σ line payable.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from siyu.catalog.prices import SellableSku
from siyu.models.catalog import SalesChannel
from siyu.models.order import Fulfilment
from siyu.orders.pricing.allocation import allocate

BASE_PRICE = "base_price"
POINTS_EXCHANGE = "points_exchange"
CAMPAIGN_PRICE = "campaign_price"
MEMBER_TIER = "member_tier"
THRESHOLD_OFFER = "threshold_offer"
COUPON = "coupon"
POINTS = "points"
SHIPPING = "shipping"

STEP_ORDER: tuple[str, ...] = (
    BASE_PRICE,
    POINTS_EXCHANGE,
    CAMPAIGN_PRICE,
    MEMBER_TIER,
    THRESHOLD_OFFER,
    COUPON,
    POINTS,
    SHIPPING,
)


# What the buyer reads next to each amount.
BASE_PRICE_LABELS = {"sale_price": "商品价", "store_price": "门店价"}
SHIPPING_LABEL = "运费"


@dataclass(frozen=True)
class Adjustment:
    step: str
    kind: str
    amount: int  # fen; negative for a discount
    label: str
    # The thing that caused it (a coupon id, a campaign id …), for reversal later.
    reference: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "step": self.step,
            "kind": self.kind,
            "amount": self.amount,
            "label": self.label,
        }
        if self.reference is not None:
            data["reference"] = self.reference
        return data


@dataclass
class PricingLine:
    line_no: int
    sku: SellableSku
    quantity: int
    adjustments: list[Adjustment] = field(default_factory=list)
    # Set by a campaign step; coupons skip campaign-priced lines unless allowed.
    campaign_id: int | None = None
    # Set by the points-mall exchange step: the line's price is fixed (points + cash),
    # and every later discount step (tier, offers, coupon, points) leaves it alone.
    price_locked: bool = False

    @property
    def base_amount(self) -> int:
        return self.sku.unit_price * self.quantity

    @property
    def goods_amount(self) -> int:
        """What the goods cost now: everything so far except shipping."""
        return sum(a.amount for a in self.adjustments if a.step != SHIPPING)

    @property
    def discount_amount(self) -> int:
        return -sum(a.amount for a in self.adjustments if a.step not in (BASE_PRICE, SHIPPING))

    @property
    def shipping_amount(self) -> int:
        return sum(a.amount for a in self.adjustments if a.step == SHIPPING)

    @property
    def payable_amount(self) -> int:
        return sum(a.amount for a in self.adjustments)


@dataclass
class PricingContext:
    """Everything a step may read; steps change only the lines' adjustments,
    ``free_shipping_threshold`` (a tier benefit) and ``messages``."""

    customer_id: int | None
    channel: SalesChannel
    store_id: int | None
    fulfilment: Fulfilment
    lines: list[PricingLine]
    shipping_fee: int
    free_shipping_threshold: int
    # What the buyer asked for: {"coupon_code": …, "points": …} — read by later steps.
    options: dict[str, Any] = field(default_factory=dict)
    # Shown to the buyer ("再买 ¥12 免运费" …).
    messages: list[str] = field(default_factory=list)
    # What steps tell the buyer and the placement hooks, by step name: the coupon step
    # puts the applied coupon and the suggestions here, the points step the points
    # to spend. Checkout hands it to the placement hooks (``siyu.orders.checkout``),
    # which redeem exactly what was priced, in the order's transaction.
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def goods_amount(self) -> int:
        return sum(line.goods_amount for line in self.lines)

    def discount_order(
        self,
        *,
        step: str,
        kind: str,
        amount: int,
        label: str,
        lines: Sequence[PricingLine] | None = None,
        reference: str | None = None,
    ) -> int:
        """Spread an order-level discount over ``lines`` (default: all) in proportion to
        what each currently costs; capped at their total so no line goes below zero.
        Returns the discount actually applied (fen, positive)."""
        eligible = list(lines if lines is not None else self.lines)
        weights = [max(line.goods_amount, 0) for line in eligible]
        applied = min(max(amount, 0), sum(weights))
        if applied == 0:
            return 0
        for line, share in zip(eligible, allocate(applied, weights), strict=True):
            if share:
                line.adjustments.append(Adjustment(step, kind, -share, label, reference))
        return applied


Step = Callable[[Session, PricingContext], None]
_steps: dict[str, Step] = {}


def register_step(name: str, step: Step) -> None:
    """Plug a domain's step in at its fixed position in ``STEP_ORDER``."""
    if name not in STEP_ORDER or name in (BASE_PRICE, SHIPPING):
        raise ValueError(f"{name!r} is not a pluggable pricing step")
    if name in _steps:
        raise ValueError(f"pricing step {name!r} is already registered")
    _steps[name] = step


def registered_steps() -> list[str]:
    return [name for name in STEP_ORDER if name in _steps or name in (BASE_PRICE, SHIPPING)]


def _base_price(_session: Session, context: PricingContext) -> None:
    for line in context.lines:
        label = BASE_PRICE_LABELS[line.sku.price_kind]
        line.adjustments.append(
            Adjustment(BASE_PRICE, line.sku.price_kind, line.base_amount, label)
        )


def _shipping(_session: Session, context: PricingContext) -> None:
    """A flat fee for delivery below the free-shipping threshold, on goods after
    discounts; pick-up in store ships nothing. Split over lines by base amount."""
    if context.fulfilment != Fulfilment.DELIVERY or not context.lines:
        return
    goods = context.goods_amount
    if goods >= context.free_shipping_threshold or context.shipping_fee == 0:
        return
    shortfall = context.free_shipping_threshold - goods
    context.messages.append(f"再买 ¥{shortfall / 100:.2f} 免运费")
    shares = allocate(context.shipping_fee, [line.base_amount for line in context.lines])
    for line, share in zip(context.lines, shares, strict=True):
        if share:
            line.adjustments.append(Adjustment(SHIPPING, "flat_fee", share, SHIPPING_LABEL))


@dataclass(frozen=True)
class PricedLine:
    line_no: int
    sku: SellableSku
    quantity: int
    base_amount: int
    discount_amount: int
    shipping_amount: int
    payable_amount: int
    breakdown: list[dict[str, Any]]
    campaign_id: int | None


@dataclass(frozen=True)
class PricingResult:
    lines: list[PricedLine]
    items_amount: int
    discount_amount: int
    shipping_amount: int
    total_amount: int
    steps: list[str]
    messages: list[str]
    details: dict[str, Any] = field(default_factory=dict)
    customer_id: int | None = None


class PricingInvariantBroken(AssertionError):
    """A step produced amounts that do not add up: a bug in that step."""


def run(session: Session, context: PricingContext) -> PricingResult:
    steps_run: list[str] = []
    for name in STEP_ORDER:
        if name == BASE_PRICE:
            step: Step | None = _base_price
        elif name == SHIPPING:
            step = _shipping
        else:
            step = _steps.get(name)
        if step is None:
            continue
        step(session, context)
        steps_run.append(name)
    return _result(context, steps_run)


def _result(context: PricingContext, steps_run: list[str]) -> PricingResult:
    lines = []
    for line in context.lines:
        payable = line.payable_amount
        if payable < 0 or line.base_amount - line.discount_amount + line.shipping_amount != payable:
            raise PricingInvariantBroken(f"line {line.line_no} does not add up: {line}")
        lines.append(
            PricedLine(
                line_no=line.line_no,
                sku=line.sku,
                quantity=line.quantity,
                base_amount=line.base_amount,
                discount_amount=line.discount_amount,
                shipping_amount=line.shipping_amount,
                payable_amount=payable,
                breakdown=[adjustment.as_dict() for adjustment in line.adjustments],
                campaign_id=line.campaign_id,
            )
        )
    items = sum(line.base_amount for line in lines)
    discount = sum(line.discount_amount for line in lines)
    shipping = sum(line.shipping_amount for line in lines)
    total = sum(line.payable_amount for line in lines)
    if total != items - discount + shipping:
        raise PricingInvariantBroken("order total is not the sum of its lines")
    return PricingResult(
        lines,
        items,
        discount,
        shipping,
        total,
        steps_run,
        context.messages,
        context.details,
        context.customer_id,
    )
