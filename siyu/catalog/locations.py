"""Stores and warehouses: create, change, switch off, delete while unused.

A location with stock history is never deleted — the ledger (and order lines) point
at it and the stock audit replays its movements — so it can only be switched off.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.catalog.errors import CatalogConflict, CatalogNotFound, InvalidCatalogInput
from siyu.catalog.schemas import LocationIn, LocationUpdate
from siyu.models.location import Location, LocationKind
from siyu.models.stock import StockLevel, StockMovement
from siyu.staff import audit
from siyu.staff.principal import Principal

TEXT_FIELDS = ("code", "name", "city", "address", "phone", "opening_hours")


def list_locations(
    session: Session, *, kind: LocationKind | None = None, active_only: bool = False
) -> list[Location]:
    statement = select(Location).order_by(Location.kind, Location.name, Location.id)
    if kind is not None:
        statement = statement.where(Location.kind == kind.value)
    if active_only:
        statement = statement.where(Location.is_active.is_(True))
    return list(session.scalars(statement))


def get_location(session: Session, location_id: int) -> Location:
    location = session.get(Location, location_id)
    if location is None:
        raise CatalogNotFound(data={"location_id": location_id})
    return location


def require_location(session: Session, location_id: int) -> Location:
    """For stock changes: the location must exist (``catalog.invalid`` otherwise)."""
    location = session.get(Location, location_id)
    if location is None:
        raise InvalidCatalogInput(
            "No such location.", data={"field": "location_id", "location_id": location_id}
        )
    return location


def _check_code_free(session: Session, code: str, *, except_id: int | None) -> None:
    statement = select(Location.id).where(Location.code == code)
    if except_id is not None:
        statement = statement.where(Location.id != except_id)
    if session.scalar(statement) is not None:
        raise CatalogConflict(
            "That location code is already in use.", data={"field": "code", "code": code}
        )


def _check_coordinates(latitude: float | None, longitude: float | None) -> None:
    # Half a coordinate cannot be placed on a map; the distance sort needs both.
    if (latitude is None) != (longitude is None):
        raise InvalidCatalogInput(
            "Give both latitude and longitude, or neither.", data={"field": "latitude"}
        )


def _flush(session: Session, location: Location) -> None:
    try:
        with session.begin_nested():
            session.add(location)
            session.flush()
    except IntegrityError as error:
        raise CatalogConflict(data={"field": "code", "code": location.code}) from error


def create_location(session: Session, actor: Principal, data: LocationIn) -> Location:
    values = data.model_dump()
    for field in TEXT_FIELDS:
        values[field] = values[field].strip()
    if not values["code"] or not values["name"]:
        raise InvalidCatalogInput(
            "A location needs a code and a name.",
            data={"field": "code" if not values["code"] else "name"},
        )
    values["kind"] = data.kind.value
    _check_coordinates(data.latitude, data.longitude)
    _check_code_free(session, values["code"], except_id=None)
    location = Location(**values)
    _flush(session, location)
    audit.record(
        session,
        actor,
        "catalog.location.create",
        target_type="location",
        target_id=location.id,
        detail={"code": location.code, "name": location.name, "kind": location.kind},
    )
    return location


def update_location(
    session: Session, actor: Principal, location_id: int, data: LocationUpdate
) -> Location:
    location = get_location(session, location_id)
    changes: dict[str, object] = {}
    for field in data.model_fields_set:
        value = getattr(data, field)
        if value is None and field not in {"latitude", "longitude"}:
            continue
        if isinstance(value, str):
            value = value.strip()
            if field in {"code", "name"} and not value:
                raise InvalidCatalogInput(f"A location needs a {field}.", data={"field": field})
        if field == "kind" and value is not None:
            value = LocationKind(value).value
        if getattr(location, field) != value:
            changes[field] = value
    latitude = changes.get("latitude", location.latitude)
    longitude = changes.get("longitude", location.longitude)
    _check_coordinates(latitude, longitude)  # type: ignore[arg-type]
    if "code" in changes:
        _check_code_free(session, str(changes["code"]), except_id=location.id)
    for field, value in changes.items():
        setattr(location, field, value)
    _flush(session, location)
    if changes:
        audit.record(
            session,
            actor,
            "catalog.location.update",
            target_type="location",
            target_id=location.id,
            detail=changes,
        )
    return location


def delete_location(session: Session, actor: Principal, location_id: int) -> None:
    location = get_location(session, location_id)
    movements = session.scalar(
        select(func.count())
        .select_from(StockMovement)
        .where(StockMovement.location_id == location.id)
    )
    if movements:
        raise CatalogConflict(
            "This location has stock history; switch it off instead.",
            data={"location_id": location.id, "movements": movements},
        )
    try:
        with session.begin_nested():
            # Zero rows only (no movement ever touched them), safe to drop with it.
            session.execute(delete(StockLevel).where(StockLevel.location_id == location.id))
            session.delete(location)
            session.flush()
    except IntegrityError as error:
        # Orders (pick-up, fulfilment) still point at it.
        raise CatalogConflict(
            "This location is in use by orders; switch it off instead.",
            data={"location_id": location.id},
        ) from error
    audit.record(
        session,
        actor,
        "catalog.location.delete",
        target_type="location",
        target_id=location_id,
        detail={"code": location.code, "name": location.name},
    )
