"""Order rows exactly as the checkout writes them: lines, prices, shipping, payloads.

Pure functions over plain dicts: the demo generator and the transaction import both
build their rows here, so the two paths cannot drift from each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from siyu.models.order import Fulfilment
from siyu.orders import events
from siyu.orders.pricing import pipeline
from siyu.orders.pricing.allocation import allocate

PRICING_STEPS = [pipeline.BASE_PRICE, pipeline.SHIPPING]


@dataclass(frozen=True)
class PricedItem:
    """One SKU at its base price, ready to become an order line."""

    sku_id: int | None
    product_id: int | None
    category_id: int | None
    product_name: str
    sku_code: str
    specs: dict[str, Any]
    image: str | None
    quantity: int
    unit_list_price: int
    unit_price: int
    # "sale_price" or "store_price" (which price applied).
    price_kind: str
    location_id: int | None


def allocate_shipping(fee: int, bases: Sequence[int]) -> list[int]:
    """Split ``fee`` over lines as the pipeline's shipping step does."""
    return allocate(fee, bases) if bases else []


def shipping_fee(items_amount: int, fulfilment: str, *, fee: int, free_threshold: int) -> int:
    """The pipeline's shipping step for an order without discounts: a flat fee for
    delivery below the free-shipping threshold; pick-up ships nothing."""
    if fulfilment != Fulfilment.DELIVERY.value:
        return 0
    return 0 if items_amount >= free_threshold else fee


def line_rows(
    order_id: int, first_line_id: int, items: Sequence[PricedItem], shipping: int
) -> list[dict[str, Any]]:
    bases = [item.unit_price * item.quantity for item in items]
    shares = allocate_shipping(shipping, bases)
    rows: list[dict[str, Any]] = []
    for offset, (item, base, share) in enumerate(zip(items, bases, shares, strict=True)):
        breakdown: list[dict[str, Any]] = [
            {
                "step": "base_price",
                "kind": item.price_kind,
                "amount": base,
                "label": pipeline.BASE_PRICE_LABELS[item.price_kind],
            }
        ]
        if share > 0:
            breakdown.append(
                {
                    "step": "shipping",
                    "kind": "flat_fee",
                    "amount": share,
                    "label": pipeline.SHIPPING_LABEL,
                }
            )
        rows.append(
            {
                "id": first_line_id + offset,
                "order_id": order_id,
                "line_no": offset + 1,
                "sku_id": item.sku_id,
                "product_id": item.product_id,
                "category_id": item.category_id,
                "product_name": item.product_name,
                "sku_code": item.sku_code,
                "specs": item.specs,
                "image": item.image,
                "quantity": item.quantity,
                "unit_list_price": item.unit_list_price,
                "unit_price": item.unit_price,
                "base_amount": base,
                "discount_amount": 0,
                "shipping_amount": share,
                "payable_amount": base + share,
                "price_breakdown": breakdown,
                "location_id": item.location_id,
                "refunded_quantity": 0,
                "refunded_amount": 0,
            }
        )
    return rows


def order_payload(
    order: dict[str, Any], lines: Sequence[dict[str, Any]] | None = None, **moment: Any
) -> dict[str, Any]:
    """``siyu.orders.events.order_payload`` of the order row, as it was at an event.

    ``moment`` overrides the fields that were different then (status, paid_amount,
    refunded_amount); the row itself holds the final state.
    """
    return events.payload_from_rows({**order, **moment}, lines)
