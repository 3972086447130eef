"""Stock for the demo: movements written to the ledger, levels kept in memory.

Levels are written once at the end from the same running totals the movements
were made from, so ``siyu.catalog.stock.audit`` agrees by construction (and a
test checks it). Stock never goes negative: a location running short receives a
replenishment first, as a real store would.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from siyu.demo.brand.writer import BulkWriter
from siyu.models.stock import StockLevel, StockMovement, StockMovementKind

_MOVEMENT = StockMovement.__table__


class StockBook:
    def __init__(self, writer: BulkWriter, operator: str) -> None:
        self._writer = writer
        self._operator = operator
        self.on_hand: dict[tuple[int, int], int] = {}
        self.reserved: dict[tuple[int, int], int] = {}

    def _move(
        self,
        kind: StockMovementKind,
        sku_id: int,
        location_id: int,
        quantity: int,
        at: datetime,
        *,
        order_id: int | None,
        actor: str,
        reason: str = "",
    ) -> None:
        self._writer.add(
            _MOVEMENT,
            {
                "sku_id": sku_id,
                "location_id": location_id,
                "kind": kind.value,
                "quantity": quantity,
                "order_id": order_id,
                "reason": reason,
                "actor": actor,
                "created_at": at,
            },
        )

    def receive(
        self, sku_id: int, location_id: int, quantity: int, at: datetime, reason: str
    ) -> None:
        key = (sku_id, location_id)
        self.on_hand[key] = self.on_hand.get(key, 0) + quantity
        self.reserved.setdefault(key, 0)
        self._move(
            StockMovementKind.RECEIVE,
            sku_id,
            location_id,
            quantity,
            at,
            order_id=None,
            actor=self._operator,
            reason=reason,
        )

    def reserve(
        self,
        rng: random.Random,
        sku_id: int,
        location_id: int,
        quantity: int,
        at: datetime,
        *,
        order_id: int,
        actor: str,
    ) -> None:
        key = (sku_id, location_id)
        available = self.on_hand.get(key, 0) - self.reserved.get(key, 0)
        if available < quantity:
            # Replenished an hour before the order: the shelf was never empty.
            self.receive(
                sku_id,
                location_id,
                quantity + rng.randint(20, 120),
                at - timedelta(hours=1),
                "补货入库",
            )
        self.reserved[key] = self.reserved.get(key, 0) + quantity
        self._move(
            StockMovementKind.RESERVE,
            sku_id,
            location_id,
            quantity,
            at,
            order_id=order_id,
            actor=actor,
        )

    def commit(
        self,
        sku_id: int,
        location_id: int,
        quantity: int,
        at: datetime,
        *,
        order_id: int,
        actor: str,
    ) -> None:
        key = (sku_id, location_id)
        self.on_hand[key] -= quantity
        self.reserved[key] -= quantity
        self._move(
            StockMovementKind.COMMIT,
            sku_id,
            location_id,
            quantity,
            at,
            order_id=order_id,
            actor=actor,
        )

    def release(
        self,
        sku_id: int,
        location_id: int,
        quantity: int,
        at: datetime,
        *,
        order_id: int,
        actor: str,
        reason: str,
    ) -> None:
        key = (sku_id, location_id)
        self.reserved[key] -= quantity
        self._move(
            StockMovementKind.RELEASE,
            sku_id,
            location_id,
            quantity,
            at,
            order_id=order_id,
            actor=actor,
            reason=reason,
        )

    def restock(
        self,
        sku_id: int,
        location_id: int,
        quantity: int,
        at: datetime,
        *,
        order_id: int,
        actor: str,
        reason: str,
    ) -> None:
        key = (sku_id, location_id)
        self.on_hand[key] += quantity
        self._move(
            StockMovementKind.RESTOCK,
            sku_id,
            location_id,
            quantity,
            at,
            order_id=order_id,
            actor=actor,
            reason=reason,
        )

    def write_levels(self, at: datetime) -> None:
        self._writer.extend(
            StockLevel.__table__,
            (
                {
                    "sku_id": sku_id,
                    "location_id": location_id,
                    "on_hand": on_hand,
                    "reserved": self.reserved.get((sku_id, location_id), 0),
                    "updated_at": at,
                }
                for (sku_id, location_id), on_hand in sorted(self.on_hand.items())
            ),
        )
