"""Stock levels per SKU per location, and the ledger of every movement."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK


class StockLevel(Base):
    """``on_hand`` is physically there; ``reserved`` is promised to unpaid orders.

    Available = on_hand - reserved. The check constraints are the last line of
    defence: every change is one conditional UPDATE in ``siyu.catalog.stock``.
    """

    __tablename__ = "stock_level"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        Index("ix_stock_level_location", "location_id"),
    )

    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("location.id", ondelete="CASCADE"), primary_key=True
    )
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime]


class StockMovementKind(StrEnum):
    RECEIVE = "receive"  # goods in (+on_hand)
    ADJUST = "adjust"  # stock count correction (± on_hand), needs a reason
    RESERVE = "reserve"  # order created (+reserved)
    RELEASE = "release"  # order cancelled or timed out (-reserved)
    COMMIT = "commit"  # order paid: goods leave (-on_hand, -reserved)
    RESTOCK = "restock"  # refunded goods returned to sellable stock (+on_hand)


class StockMovement(Base):
    """Append-only. Replaying a location's movements reproduces its level exactly:
    on_hand = Σ receive + Σ adjust + Σ restock - Σ commit;
    reserved = Σ reserve - Σ release - Σ commit."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        Index("ix_stock_movement_sku_location", "sku_id", "location_id", "id"),
        Index("ix_stock_movement_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    sku_id: Mapped[int] = mapped_column(ForeignKey("sku.id", ondelete="CASCADE"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    # Always positive except for ADJUST, whose sign is the direction.
    quantity: Mapped[int]
    order_id: Mapped[int | None] = mapped_column(BigIntegerPK)
    reason: Mapped[str] = mapped_column(String(200), default="")
    # "staff:<username>", "order:<public id>", "job:order.expire" …
    actor: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]
