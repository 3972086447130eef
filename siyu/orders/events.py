"""Domain events the orders domain emits, and their payloads.

Later domains react to these (points earn on ``order.paid`` and unfreeze on
``order.finalised``, coupons and commissions reverse on ``order.refunded`` …).
Payloads are facts at the moment of the event and carry ids, never objects.
"""

from __future__ import annotations

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
# An operator must look: a payment that did not match, a refund the provider refused.
PAYMENT_FLAGGED = "payment.flagged"


def line_payload(line: OrderLine) -> dict[str, Any]:
    return {
        "line_id": line.id,
        "sku_id": line.sku_id,
        "product_id": line.product_id,
        "category_id": line.category_id,
        "quantity": line.quantity,
        "base_amount": line.base_amount,
        "discount_amount": line.discount_amount,
        "payable_amount": line.payable_amount,
    }


def order_payload(order: Order, lines: list[OrderLine] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "order_id": order.id,
        "public_id": order.public_id,
        "customer_id": order.customer_id,
        "status": order.status,
        "source": order.source,
        "sales_channel": order.sales_channel,
        "fulfilment": order.fulfilment,
        "items_amount": order.items_amount,
        "discount_amount": order.discount_amount,
        "shipping_amount": order.shipping_amount,
        "total_amount": order.total_amount,
        "paid_amount": order.paid_amount,
        "refunded_amount": order.refunded_amount,
        "touchpoint": order.touchpoint,
        "channel_code_id": order.channel_code_id,
        "guide_id": order.guide_id,
        "campaign_id": order.campaign_id,
        "referrer_customer_id": order.referrer_customer_id,
        "store_id": order.store_id,
    }
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
