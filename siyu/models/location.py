"""Locations: stores and warehouses, where stock lives and orders are fulfilled."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.models.base import Base, BigIntegerPK, TimestampMixin


class LocationKind(StrEnum):
    STORE = "store"
    WAREHOUSE = "warehouse"


class Location(TimestampMixin, Base):
    """A store or a warehouse.

    ``customer.store_id``, ``staff.store_id`` and order attribution point at a
    location of kind ``store``; they predate this table and stay plain integers.
    """

    __tablename__ = "location"

    id: Mapped[int] = mapped_column(BigIntegerPK, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default=LocationKind.STORE)
    city: Mapped[str] = mapped_column(String(64), default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    phone: Mapped[str] = mapped_column(String(32), default="")
    # WGS-84 degrees; "stores near me" sorts by distance when both are known.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    opening_hours: Mapped[str] = mapped_column(String(64), default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Customers may pick mall orders up here (线下自提).
    accepts_pickup: Mapped[bool] = mapped_column(default=True)
    # Stock here may fill delivery orders from the mall (warehouses; stores that ship).
    ships_online: Mapped[bool] = mapped_column(default=False)
    # When several locations could ship, lower goes first.
    fulfilment_priority: Mapped[int] = mapped_column(default=100)
