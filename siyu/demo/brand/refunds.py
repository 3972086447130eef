"""Refunds of demo orders, written as ``siyu.orders.refunds`` leaves them.

The customer asks (→ refunding, ``resume_status`` = the status before), an operator
approves, the provider pays back (refund succeeded; → refunded or partially_refunded,
actor ``refund:<public id>``, one ``order.refunded`` event). Amounts per line follow
``refunds.refund_amount_for``. Stock goes back (restock) by default when the order was
only paid (the goods never left); for returned goods the operator decides.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from siyu.demo.brand.ledger import StockBook
from siyu.demo.brand.orders import order_payload
from siyu.demo.brand.venues import Venues
from siyu.demo.brand.writer import BulkWriter, IdAllocator
from siyu.models.base import new_public_id
from siyu.models.order import OrderStatus
from siyu.models.payment import Refund, RefundLine, RefundStatus
from siyu.orders import events as order_events

# Refunds of paid orders before they ship (仅退款), and after-sale refunds of received ones.
BEFORE_SHIPPING_RATE = 0.015
AFTER_RECEIPT_RATE = 0.035
# The request comes within this many days of receipt, so it settles inside the window.
AFTER_RECEIPT_DAYS = 5
REASONS = ("色号不合适", "不想要了", "包装破损", "过敏不适", "买多了", "收到商品与描述不符")

Emit = Callable[[str, datetime, dict[str, Any]], None]
Move = Callable[..., None]


def refund_amount_for(line: dict[str, Any], quantity: int) -> int:
    """``siyu.orders.refunds.refund_amount_for`` on a line row."""
    if quantity == line["quantity"] - line["refunded_quantity"]:
        return int(line["payable_amount"] - line["refunded_amount"])
    return int(line["payable_amount"] * quantity // line["quantity"])


class RefundMaker:
    def __init__(
        self,
        rng: random.Random,
        *,
        ids: IdAllocator,
        writer: BulkWriter,
        stock: StockBook,
        venues: Venues,
        emit: Emit,
        move: Move,
        now: datetime,
    ) -> None:
        self.rng = rng
        self.ids = ids
        self.writer = writer
        self.stock = stock
        self.venues = venues
        self.emit = emit
        self.move = move
        self.now = now

    def before_shipping(
        self,
        order: dict[str, Any],
        lines: list[dict[str, Any]],
        payment_id: int,
        paid_at: datetime,
        would_ship_at: datetime,
        location_id: int,
    ) -> bool:
        """A paid order refunded in full before it shipped; True when that happened."""
        rng = self.rng
        if rng.random() >= BEFORE_SHIPPING_RATE:
            return False
        requested = paid_at + timedelta(minutes=rng.uniform(5, 120))
        if requested >= would_ship_at:
            return False
        wanted = [(line, line["quantity"]) for line in lines]
        return self._refund(order, lines, wanted, payment_id, requested, location_id, True)

    def after_receipt(
        self,
        order: dict[str, Any],
        lines: list[dict[str, Any]],
        payment_id: int,
        received_at: datetime,
        location_id: int,
    ) -> bool:
        """An after-sale refund of a received order: all of it, or part of one line."""
        rng = self.rng
        if rng.random() >= AFTER_RECEIPT_RATE:
            return False
        requested = received_at + timedelta(hours=rng.uniform(4, AFTER_RECEIPT_DAYS * 24))
        partial = rng.random() < 0.6 and (len(lines) > 1 or lines[0]["quantity"] > 1)
        if partial:
            line = rng.choice(lines)
            quantity = rng.randint(1, line["quantity"] - 1) if line["quantity"] > 1 else 1
            wanted = [(line, quantity)]
        else:
            wanted = [(line, line["quantity"]) for line in lines]
        restock = rng.random() < 0.5
        return self._refund(order, lines, wanted, payment_id, requested, location_id, restock)

    def _refund(
        self,
        order: dict[str, Any],
        lines: list[dict[str, Any]],
        wanted: list[tuple[dict[str, Any], int]],
        payment_id: int,
        requested: datetime,
        location_id: int,
        restock: bool,
    ) -> bool:
        rng = self.rng
        reviewed = requested + timedelta(hours=rng.uniform(0.5, 30))
        settled = reviewed + timedelta(minutes=rng.uniform(1, 30))
        if settled > self.now:
            return False
        amounts = [(line, quantity, refund_amount_for(line, quantity)) for line, quantity in wanted]
        amount = sum(line_amount for _line, _quantity, line_amount in amounts)
        refund_id = self.ids.take("refund")
        public_id = new_public_id("rf")
        provider = "offline" if order["source"] == "store" else "sandbox"
        reason = rng.choice(REASONS)
        self.writer.add(
            Refund.__table__,
            {
                "id": refund_id,
                "public_id": public_id,
                "order_id": order["id"],
                "payment_id": payment_id,
                "status": RefundStatus.SUCCEEDED.value,
                "amount": amount,
                "reason": reason,
                "restock": restock,
                "requested_by": "customer",
                "reviewed_by": self.venues.operator,
                "reviewed_at": reviewed,
                "review_note": "",
                "provider": provider,
                "provider_refund_id": f"{provider}_rf_{rng.getrandbits(128):032x}",
                "failure_reason": None,
                "completed_at": settled,
                "created_at": requested,
                "updated_at": settled,
            },
        )
        order["resume_status"] = order["status"]
        self.move(order, OrderStatus.REFUNDING, requested, "customer", reason=reason)
        refund_actor = f"refund:{public_id}"
        refund_lines = []
        for line, quantity, line_amount in amounts:
            self.writer.add(
                RefundLine.__table__,
                {
                    "refund_id": refund_id,
                    "order_line_id": line["id"],
                    "quantity": quantity,
                    "amount": line_amount,
                },
            )
            line["refunded_quantity"] += quantity
            line["refunded_amount"] += line_amount
            refund_lines.append(
                {"line_id": line["id"], "quantity": quantity, "amount": line_amount}
            )
            if restock:
                self.stock.restock(
                    line["sku_id"],
                    location_id,
                    quantity,
                    settled,
                    order_id=order["id"],
                    actor=refund_actor,
                    reason="refund",
                )
        order["refunded_amount"] += amount
        is_full = all(line["refunded_quantity"] == line["quantity"] for line in lines) or (
            order["refunded_amount"] >= order["paid_amount"]
        )
        target = OrderStatus.REFUNDED if is_full else OrderStatus.PARTIALLY_REFUNDED
        self.move(order, target, settled, refund_actor, reason=reason)
        self.emit(
            order_events.ORDER_REFUNDED,
            settled,
            {
                **order_payload(order, lines),
                "refund_id": refund_id,
                "refund_public_id": public_id,
                "refund_amount": amount,
                "is_full": is_full,
                "refund_lines": refund_lines,
            },
        )
        return True
