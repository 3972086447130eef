"""One demo order from cart to its final state: the rows every step writes.

The timeline is drawn first (created, paid, shipped, delivered, completed, final,
and maybe a refund); a step happens only if its moment is before "now", so the
orders near the end of the window are naturally still unpaid, paid or shipped.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from siyu.core import jobs
from siyu.core.crypto import PiiCipher
from siyu.demo.brand.baskets import BasketPicker
from siyu.demo.brand.behaviour import Tracker
from siyu.demo.brand.catalog import Catalog
from siyu.demo.brand.ledger import StockBook
from siyu.demo.brand.orders import PRICING_STEPS, line_rows, order_payload, shipping_fee
from siyu.demo.brand.people import DemoCustomer
from siyu.demo.brand.refunds import RefundMaker
from siyu.demo.brand.venues import Venues
from siyu.demo.brand.writer import BulkWriter, IdAllocator
from siyu.models.base import new_public_id
from siyu.models.job import Job, JobStatus
from siyu.models.order import (
    Fulfilment,
    Order,
    OrderLine,
    OrderSource,
    OrderStatus,
    OrderTransition,
)
from siyu.models.outbox import OutboxEvent, OutboxStatus
from siyu.models.payment import Payment, PaymentProvider, PaymentStatus
from siyu.orders import events as order_events
from siyu.orders import lifecycle as order_lifecycle

_ORDER, _LINE = Order.__table__, OrderLine.__table__
_TRANSITION, _PAYMENT = OrderTransition.__table__, Payment.__table__
_OUTBOX = OutboxEvent.__table__
_JOB = Job.__table__
_EXPIRE_ACTOR = f"job:{order_lifecycle.EXPIRE_TASK}"
_AUTO_COMPLETE_ACTOR = f"job:{order_lifecycle.AUTO_COMPLETE_TASK}"
_FINALISE_ACTOR = f"job:{order_lifecycle.FINALISE_TASK}"
# As siyu.orders.state: the event and the timestamp each arrival brings.
_EVENT_ON_ARRIVAL = {
    OrderStatus.PAID: order_events.ORDER_PAID,
    OrderStatus.CANCELLED: order_events.ORDER_CANCELLED,
    OrderStatus.SHIPPED: order_events.ORDER_SHIPPED,
    OrderStatus.DELIVERED: order_events.ORDER_DELIVERED,
    OrderStatus.COMPLETED: order_events.ORDER_COMPLETED,
}
_TIMESTAMP_ON_ARRIVAL = {
    OrderStatus.PAID: "paid_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.COMPLETED: "completed_at",
    OrderStatus.CANCELLED: "cancelled_at",
}


@dataclass(frozen=True)
class OrderPlan:
    customer: DemoCustomer
    created_at: datetime
    # The purchase in the arrival session: attributed to the channel code scanned.
    is_first_touch: bool


@dataclass(frozen=True)
class Rules:
    shipping_fee: int
    free_shipping_threshold: int
    payment_minutes: int
    auto_complete_days: int
    return_window_days: int


class OrderMaker:
    def __init__(
        self,
        rng: random.Random,
        *,
        ids: IdAllocator,
        writer: BulkWriter,
        catalog: Catalog,
        venues: Venues,
        stock: StockBook,
        tracker: Tracker,
        cipher: PiiCipher,
        rules: Rules,
        now: datetime,
    ) -> None:
        self.rng = rng
        self.ids = ids
        self.writer = writer
        self.catalog = catalog
        self.venues = venues
        self.stock = stock
        self.tracker = tracker
        self.cipher = cipher
        self.rules = rules
        self.now = now
        self.refunds = RefundMaker(
            rng,
            ids=ids,
            writer=writer,
            stock=stock,
            venues=venues,
            emit=self.emit,
            move=self.move,
            now=now,
        )
        self.baskets = BasketPicker(rng, catalog, cipher)
        self._store_staff = {store.id: store.guide_ids for store in venues.stores}

    # -- small writers -------------------------------------------------------------

    def emit(self, name: str, at: datetime, payload: dict[str, Any]) -> None:
        self.writer.add(
            _OUTBOX,
            {
                "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "name": name,
                # Plain ints, strings, lists and dicts already: what outbox.emit's JSON
                # round trip would give (skipping it saves ~10 % of the generation).
                "payload": payload,
                "occurred_at": at,
                "available_at": at,
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "last_error": None,
                "dispatched_at": None,
            },
        )

    def transition(
        self,
        order_id: int,
        before: str | None,
        after: str,
        actor: str,
        at: datetime,
        reason: str = "",
    ) -> None:
        self.writer.add(
            _TRANSITION,
            {
                "order_id": order_id,
                "from_status": before,
                "to_status": after,
                "actor": actor,
                "reason": reason,
                "created_at": at,
            },
        )

    # -- the order ------------------------------------------------------------------

    def make(self, plan: OrderPlan) -> None:
        self.writer.hold()
        try:
            self._make(plan)
        finally:
            self.writer.release()

    def _make(self, plan: OrderPlan) -> None:
        rng, customer, now = self.rng, plan.customer, self.now
        created = plan.created_at
        at_till = rng.random() < customer.offline_affinity * 0.8
        if at_till and created > now - timedelta(minutes=10):
            at_till = False
        pickup = not at_till and rng.random() < customer.offline_affinity * 0.5
        store = customer.home_store_id
        if at_till:
            source, channel, fulfilment = OrderSource.STORE, "store", Fulfilment.PICKUP
            location = store
            price_store: int | None = store
            # Bought at the till: handed over in that store, as checkout records it.
            pickup_location: int | None = store
            touchpoint, provider = "offline", PaymentProvider.OFFLINE
        else:
            source, channel = OrderSource.MALL, "mall"
            fulfilment = Fulfilment.PICKUP if pickup else Fulfilment.DELIVERY
            location = store if pickup else self.venues.warehouse_id
            price_store = store if pickup else None
            pickup_location = store if pickup else None
            touchpoint, provider = "mp", PaymentProvider.SANDBOX
        items = self.baskets.items(channel, customer, price_store, location)
        order_id = self.ids.take("order")
        items_amount = sum(item.unit_price * item.quantity for item in items)
        shipping = shipping_fee(
            items_amount,
            fulfilment.value,
            fee=self.rules.shipping_fee,
            free_threshold=self.rules.free_shipping_threshold,
        )
        total = items_amount + shipping
        first_line = self.ids.take("order_line")
        for _ in items[1:]:
            self.ids.take("order_line")
        lines = line_rows(order_id, first_line, items, shipping)
        guide = customer.guide_id
        if at_till and guide is None:
            # The guide at the till gets the sale (导购业绩).
            guide = rng.choice(self._store_staff[store])
        order: dict[str, Any] = {
            "id": order_id,
            "public_id": new_public_id("ord"),
            "customer_id": customer.id,
            "status": OrderStatus.PENDING_PAYMENT.value,
            "resume_status": None,
            "source": source.value,
            "external_id": None,
            "sales_channel": channel,
            "fulfilment": fulfilment.value,
            "pickup_location_id": pickup_location,
            "items_amount": items_amount,
            "discount_amount": 0,
            "shipping_amount": shipping,
            "total_amount": total,
            "paid_amount": 0,
            "refunded_amount": 0,
            "item_count": sum(item.quantity for item in items),
            "pricing_steps": list(PRICING_STEPS),
            "touchpoint": touchpoint,
            "channel_code_id": customer.code.id if plan.is_first_touch else None,
            "guide_id": guide,
            "campaign_id": None,
            "referrer_customer_id": None,
            "store_id": store if (at_till or pickup) else customer.store_id,
            "shipping_address_encrypted": self.baskets.address(fulfilment),
            "customer_note": "",
            "carrier": None,
            "tracking_number": None,
            "payment_deadline": created + timedelta(minutes=self.rules.payment_minutes),
            "paid_at": None,
            "shipped_at": None,
            "delivered_at": None,
            "completed_at": None,
            "cancelled_at": None,
            "cancel_reason": None,
            "final_at": None,
            "created_at": created,
            "updated_at": created,
        }
        customer_actor = "customer"
        order_actor = f"order:{order['public_id']}"
        self.writer.add(_ORDER, order)  # the row dict is completed below, before the flush
        self.writer.extend(_LINE, lines)
        if not at_till:
            viewed = [self.baskets.sku(line["sku_id"]) for line in lines]
            self.tracker.browse(
                customer.id,
                created - timedelta(minutes=rng.randint(3, 25)),
                touchpoint,
                viewed,
                carted=viewed,
                channel_code_id=order["channel_code_id"],
            )
            self.tracker.event(
                customer.id,
                "checkout_start",
                created - timedelta(seconds=20),
                touchpoint,
                {"order_value_fen": total, "items": len(lines)},
            )
        for line in lines:
            self.stock.reserve(
                rng,
                line["sku_id"],
                location,
                line["quantity"],
                created,
                order_id=order_id,
                actor=order_actor,
            )
        self.transition(
            order_id, None, OrderStatus.PENDING_PAYMENT.value, customer_actor, created, "checkout"
        )
        self.emit(
            order_events.ORDER_CREATED,
            created,
            {**order_payload(order, lines), "actor": "customer"},
        )
        self._progress(order, lines, at_till=at_till, provider=provider, location=location)

    def schedule(self, task: str, order: dict[str, Any], run_at: datetime, key: str) -> None:
        """The job the order service enqueued at this step, if it is still to run.

        Jobs that would already have run are left out (their effect is in the rows);
        the ones due after now are queued, so the served demo keeps moving: unpaid
        orders expire, shipped ones auto-complete, completed ones become final.
        """
        if run_at <= self.now:
            return
        spec = jobs.default_registry().get(task)
        self.writer.add(
            _JOB,
            {
                "task": task,
                "payload": {"order_id": order["id"]},
                "status": JobStatus.QUEUED.value,
                "run_at": run_at,
                "attempts": 0,
                "max_attempts": spec.max_attempts if spec else jobs.DEFAULT_MAX_ATTEMPTS,
                "last_error": None,
                "idempotency_key": key,
                "locked_by": None,
                "locked_until": None,
                "created_at": order["updated_at"],
                "started_at": None,
                "finished_at": None,
            },
        )

    def move(
        self,
        order: dict[str, Any],
        status: OrderStatus,
        at: datetime,
        actor: str,
        *,
        reason: str = "",
        lines: list[dict[str, Any]] | None = None,
    ) -> None:
        """What ``siyu.orders.state.move`` writes: the row, a transition, the event."""
        self.transition(order["id"], order["status"], status.value, actor, at, reason)
        order["status"] = status.value
        order["updated_at"] = at
        stamp = _TIMESTAMP_ON_ARRIVAL.get(status)
        if stamp is not None:
            order[stamp] = at
        event = _EVENT_ON_ARRIVAL.get(status)
        if event is not None:
            payload = order_payload(order, lines)
            self.emit(event, at, {**payload, "actor": actor, "reason": reason})

    def _progress(
        self,
        order: dict[str, Any],
        lines: list[dict[str, Any]],
        *,
        at_till: bool,
        provider: PaymentProvider,
        location: int,
    ) -> None:
        rng, now, rules = self.rng, self.now, self.rules
        order_id, created = order["id"], order["created_at"]
        deadline: datetime = order["payment_deadline"]
        recent = now - created < timedelta(minutes=rules.payment_minutes)
        self.schedule(
            order_lifecycle.EXPIRE_TASK,
            order,
            deadline,
            f"{order_lifecycle.EXPIRE_TASK}:{order_id}",
        )
        paid_at = created + timedelta(seconds=rng.randint(20, 90 if at_till else 480))
        unpaid = not at_till and rng.random() < (0.35 if recent else 0.045)
        if unpaid or paid_at > now:
            if deadline <= now:
                # lifecycle.cancel via the order.expire job: status first, then stock.
                order["cancel_reason"] = "payment_timeout"
                self.move(
                    order,
                    OrderStatus.CANCELLED,
                    deadline,
                    _EXPIRE_ACTOR,
                    reason="payment_timeout",
                    lines=lines,
                )
                for line in lines:
                    self.stock.release(
                        line["sku_id"],
                        location,
                        line["quantity"],
                        deadline,
                        order_id=order_id,
                        actor=_EXPIRE_ACTOR,
                        reason="payment_timeout",
                    )
            return
        payment_id = self._payment(order, provider, paid_at)
        payment_actor = f"payment:{provider.value}"
        order["paid_amount"] = order["total_amount"]
        self.move(order, OrderStatus.PAID, paid_at, payment_actor, lines=lines)
        for line in lines:
            self.stock.commit(
                line["sku_id"],
                location,
                line["quantity"],
                paid_at,
                order_id=order_id,
                actor=payment_actor,
            )
        self.tracker.event(
            order["customer_id"],
            "order_paid",
            paid_at,
            order["touchpoint"],
            {"order_id": order["public_id"], "amount_fen": order["total_amount"]},
        )
        staff = self.venues.operator
        if at_till or order["fulfilment"] == Fulfilment.PICKUP.value:
            # Handed over in the store: delivered and completed at once (lifecycle.deliver).
            handed = paid_at + (
                timedelta(seconds=rng.randint(10, 60))
                if at_till
                else timedelta(hours=rng.uniform(2, 72))
            )
            if handed > now:
                return
            self.move(order, OrderStatus.DELIVERED, handed, staff)
            self.move(order, OrderStatus.COMPLETED, handed, staff, reason="picked up")
            self._after_completion(order, lines, payment_id, location)
            return
        shipped = paid_at + timedelta(hours=rng.uniform(3, 30))
        if self.refunds.before_shipping(order, lines, payment_id, paid_at, shipped, location):
            return
        if shipped > now:
            return
        order.update(carrier="SF", tracking_number=f"SF{rng.randrange(10**12):012d}")
        self.move(order, OrderStatus.SHIPPED, shipped, staff)
        task = order_lifecycle.AUTO_COMPLETE_TASK
        self.schedule(
            task,
            order,
            shipped + timedelta(days=rules.auto_complete_days),
            f"{task}:{order_id}:{order['status']}",
        )
        # 确认收货: the customer confirms, or the auto-complete job does after 10 days.
        auto = rng.random() < 0.4
        received = shipped + (
            timedelta(days=rules.auto_complete_days)
            if auto
            else timedelta(hours=rng.uniform(20, 9 * 24))
        )
        if received > now:
            return
        actor = _AUTO_COMPLETE_ACTOR if auto else "customer"
        self.move(order, OrderStatus.DELIVERED, received, actor, reason="receipt confirmed")
        self.move(order, OrderStatus.COMPLETED, received, actor, reason="receipt confirmed")
        self._after_completion(order, lines, payment_id, location)

    def _payment(self, order: dict[str, Any], provider: PaymentProvider, paid_at: datetime) -> int:
        payment_id = self.ids.take("payment")
        self.writer.add(
            _PAYMENT,
            {
                "id": payment_id,
                "public_id": new_public_id("pay"),
                "order_id": order["id"],
                "provider": provider.value,
                "status": PaymentStatus.SUCCEEDED.value,
                "amount": order["total_amount"],
                "provider_transaction_id": f"{provider.value}_{self.rng.getrandbits(128):032x}",
                "payer_openid": None,
                "client_parameters": {},
                "paid_at": paid_at,
                "closed_at": None,
                "created_at": order["created_at"],
                "updated_at": paid_at,
            },
        )
        return payment_id

    def _after_completion(
        self, order: dict[str, Any], lines: list[dict[str, Any]], payment_id: int, location: int
    ) -> None:
        """Maybe an after-sale refund, then the return window closes (lifecycle.finalise)."""
        task = order_lifecycle.FINALISE_TASK
        self.schedule(
            task,
            order,
            order["completed_at"] + timedelta(days=self.rules.return_window_days),
            f"{task}:{order['id']}:{order['status']}",
        )
        self.refunds.after_receipt(order, lines, payment_id, order["completed_at"], location)
        if order["status"] not in (OrderStatus.COMPLETED, OrderStatus.PARTIALLY_REFUNDED):
            return
        final = order["completed_at"] + timedelta(days=self.rules.return_window_days)
        if final <= self.now:
            order.update(final_at=final, updated_at=final)
            self.emit(
                order_events.ORDER_FINALISED,
                final,
                {**order_payload(order, lines), "actor": _FINALISE_ACTOR},
            )
