"""Which stores near me have this size: omnichannel availability for pick-up.

For a SKU and a quantity: the active stores that accept pick-up, hold at least that
many available units and sell the SKU there (a store that de-listed it is left out;
its own price, if any, is the one shown). Sorted by great-circle distance from the
caller's position when one is given (stores without coordinates last), else by name.

Counts are exact here; consumers only ever see "in stock" or "low stock" (≤ 3
available), so the storefront does not publish a store's inventory to competitors.
This is a read: the order's ``stock.reserve`` is what decides.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog.errors import InvalidCatalogInput, SkuUnavailable
from siyu.catalog.prices import SellableSku, evaluate_skus
from siyu.models.catalog import SalesChannel
from siyu.models.location import Location, LocationKind
from siyu.models.stock import StockLevel

EARTH_RADIUS_KM = 6371.0088
LOW_STOCK_THRESHOLD = 3
MAX_QUANTITY = 9999


class StockStatus(StrEnum):
    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"


def stock_status(available: int) -> StockStatus:
    return StockStatus.LOW_STOCK if available <= LOW_STOCK_THRESHOLD else StockStatus.IN_STOCK


def haversine_km(
    latitude_a: float, longitude_a: float, latitude_b: float, longitude_b: float
) -> float:
    phi_a, phi_b = math.radians(latitude_a), math.radians(latitude_b)
    delta_phi = phi_b - phi_a
    delta_lambda = math.radians(longitude_b - longitude_a)
    h = (
        math.sin(delta_phi / 2) ** 2
        + math.cos(phi_a) * math.cos(phi_b) * math.sin(delta_lambda / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class StoreAvailability:
    location: Location
    available: int
    distance_km: float | None
    unit_price: int

    @property
    def status(self) -> StockStatus:
        return stock_status(self.available)


def check_position(latitude: float | None, longitude: float | None) -> tuple[float, float] | None:
    if latitude is None and longitude is None:
        return None
    if latitude is None or longitude is None:
        raise InvalidCatalogInput("Give both lat and lng, or neither.", data={"field": "lat"})
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        raise InvalidCatalogInput("The position is not on Earth.", data={"field": "lat"})
    return latitude, longitude


def distance_from(position: tuple[float, float] | None, location: Location) -> float | None:
    if position is None or location.latitude is None or location.longitude is None:
        return None
    return round(haversine_km(*position, location.latitude, location.longitude), 2)


def sort_by_distance_or_name(
    items: list[StoreAvailability], *, by_distance: bool
) -> list[StoreAvailability]:
    if by_distance:
        return sorted(
            items,
            key=lambda item: (
                item.distance_km is None,
                item.distance_km or 0.0,
                item.location.name,
                item.location.id,
            ),
        )
    return sorted(items, key=lambda item: (item.location.name, item.location.id))


def stores_with_stock(
    session: Session,
    sku_id: int,
    quantity: int,
    *,
    latitude: float | None = None,
    longitude: float | None = None,
) -> list[StoreAvailability]:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidCatalogInput(
            f"The quantity is between 1 and {MAX_QUANTITY}.", data={"field": "quantity"}
        )
    position = check_position(latitude, longitude)
    # The SKU must be on sale in the mall at all before any store is asked.
    outcome = evaluate_skus(session, [sku_id], channel=SalesChannel.MALL)[sku_id]
    if isinstance(outcome, str):
        raise SkuUnavailable(data={"sku_id": sku_id, "reason": outcome})
    rows = session.execute(
        select(Location, (StockLevel.on_hand - StockLevel.reserved).label("available"))
        .join(StockLevel, StockLevel.location_id == Location.id)
        .where(
            StockLevel.sku_id == sku_id,
            StockLevel.on_hand - StockLevel.reserved >= quantity,
            Location.kind == LocationKind.STORE.value,
            Location.is_active.is_(True),
            Location.accepts_pickup.is_(True),
        )
    ).all()
    result: list[StoreAvailability] = []
    for location, available in rows:
        # Pick-up is a mall order in the store's context: its listing and price apply.
        in_store = evaluate_skus(session, [sku_id], channel=SalesChannel.MALL, store_id=location.id)
        sellable = in_store[sku_id]
        if not isinstance(sellable, SellableSku):
            continue
        result.append(
            StoreAvailability(
                location=location,
                available=int(available),
                distance_km=distance_from(position, location),
                unit_price=sellable.unit_price,
            )
        )
    return sort_by_distance_or_name(result, by_distance=position is not None)


def pickup_stores(
    session: Session, *, latitude: float | None = None, longitude: float | None = None
) -> list[tuple[Location, float | None]]:
    """Every active store that accepts pick-up, nearest first when a position is given."""
    position = check_position(latitude, longitude)
    stores = session.scalars(
        select(Location).where(
            Location.kind == LocationKind.STORE.value,
            Location.is_active.is_(True),
            Location.accepts_pickup.is_(True),
        )
    ).all()
    items = [
        StoreAvailability(
            location=store, available=0, distance_km=distance_from(position, store), unit_price=0
        )
        for store in stores
    ]
    ordered = sort_by_distance_or_name(items, by_distance=position is not None)
    return [(item.location, item.distance_km) for item in ordered]
