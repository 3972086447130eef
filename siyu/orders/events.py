"""Domain events the orders domain emits, and their payloads.

Later domains react to these (points earn on ``order.paid`` and unfreeze on
``order.finalised``, coupons and commissions reverse on ``order.refunded`` …).
Payloads are facts at the moment of the event and carry ids, never objects.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from siyu.core import outbox
from siyu.models.order import Order, OrderLine

ORDER_CREATED = "order.created"
ORDER_PAID = "order.paid"
ORDER_CANCELLED = "order.cancelled"
ORDER_SHIPPED = "order.shipped"
ORDER_DELIVERED = "order.delivered"
ORDER_COMPLETED = "order.completed"
# The return window passed: the order can no longer be refunded.
ORDER_FINALISED = "order.finalised"
ORDER_REFUNDED = "order.refunded"
# History loaded by `siyu import transactions`: downstream decides whether it counts.
ORDER_IMPORTED = "order.imported"
# An operator must look: a payment that did not match, a refund the provider refused.
PAYMENT_FLAGGED = "payment.flagged"


# (payload key, column) pairs: one list, so an event built from an ORM object and one
# built from a row dict (the demo generator, imports) can never differ.
ORDER_FIELDS: tuple[tuple[str, str], ...] = (
    ("order_id", "id"),
    ("public_id", "public_id"),
    ("customer_id", "customer_id"),
    ("status", "status"),
    ("source", "source"),
    ("sales_channel", "sales_channel"),
    ("fulfilment", "fulfilment"),
    ("items_amount", "items_amount"),
    ("discount_amount", "discount_amount"),
    ("shipping_amount", "shipping_amount"),
    ("total_amount", "total_amount"),
    ("paid_amount", "paid_amount"),
    ("refunded_amount", "refunded_amount"),
    ("touchpoint", "touchpoint"),
    ("channel_code_id", "channel_code_id"),
    ("guide_id", "guide_id"),
    ("campaign_id", "campaign_id"),
    ("referrer_customer_id", "referrer_customer_id"),
    ("store_id", "store_id"),
)
LINE_FIELDS: tuple[tuple[str, str], ...] = (
    ("line_id", "id"),
    ("sku_id", "sku_id"),
    ("product_id", "product_id"),
    ("category_id", "category_id"),
    ("quantity", "quantity"),
    ("base_amount", "base_amount"),
    ("discount_amount", "discount_amount"),
    ("payable_amount", "payable_amount"),
)


def payload_from_rows(
    order: Mapping[str, Any], lines: Sequence[Mapping[str, Any]] | None = None
) -> dict[str, Any]:
    """The payload of an order given as column → value mappings."""
    payload = {key: order[column] for key, column in ORDER_FIELDS}
    if lines is not None:
        payload["lines"] = [{key: line[column] for key, column in LINE_FIELDS} for line in lines]
    return payload


def line_payload(line: OrderLine) -> dict[str, Any]:
    return {key: getattr(line, column) for key, column in LINE_FIELDS}


def order_payload(order: Order, lines: list[OrderLine] | None = None) -> dict[str, Any]:
    payload = {key: getattr(order, column) for key, column in ORDER_FIELDS}
    if lines is not None:
        payload["lines"] = [line_payload(line) for line in lines]
    return payload


def emit_order_event(
    session: Session,
    name: str,
    order: Order,
    lines: list[OrderLine] | None = None,
    **extra: Any,
) -> str:
    return outbox.emit(session, name, {**order_payload(order, lines), **extra})
