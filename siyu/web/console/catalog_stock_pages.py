"""Console pages for stores and warehouses, and for stock at each of them.

Needs ``catalog.manage``. Stock changes go through ``siyu.catalog.stock_admin`` (and so
through the one stock service, with ledger rows and audit rows); receiving and
adjusting post and redirect back to the location's stock page.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog import locations, stock_admin
from siyu.catalog.errors import InvalidCatalogInput
from siyu.catalog.params import PathId, QueryId
from siyu.catalog.schemas import MAX_ID, LocationIn, LocationUpdate, StockAdjustIn, StockReceiveIn
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep
from siyu.models.catalog import Sku
from siyu.models.location import Location, LocationKind
from siyu.models.stock import StockMovement
from siyu.staff.permissions import Permission
from siyu.web.console.catalog_forms import catalog_error_message, parse_whole
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.staff_pages import attempt

router = APIRouter()

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.CATALOG_MANAGE))]
LOCATIONS_PATH = "/console/catalog/locations"
STOCK_PATH = "/console/catalog/stock"
ACTIVE = "catalog"
KINDS = [kind.value for kind in LocationKind]
MOVEMENTS_SHOWN = 30
FormText = Annotated[str, Form(max_length=300)]


def _locations_page(
    page: ConsolePage,
    session: Session,
    *,
    flash: tuple[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return page.render(
        "catalog_locations.html",
        active=ACTIVE,
        status=status,
        locations=locations.list_locations(session),
        kinds=KINDS,
        flash=flash,
        values=values or {},
    )


@router.get(LOCATIONS_PATH)
def location_list(page: ManagePage, session: SessionDep, saved: int = 0) -> HTMLResponse:
    flash = ("success", page.t("catalog.saved")) if saved else None
    return _locations_page(page, session, flash=flash)


def _coordinate(text: str, field: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError as error:
        raise InvalidCatalogInput(data={"field": field}) from error


@router.post(LOCATIONS_PATH)
def location_create(
    page: ManagePage,
    session: SessionDep,
    code: FormText = "",
    name: FormText = "",
    kind: FormText = "store",
    city: FormText = "",
    address: FormText = "",
    phone: FormText = "",
    latitude: FormText = "",
    longitude: FormText = "",
    opening_hours: FormText = "",
    accepts_pickup: FormText = "",
    ships_online: FormText = "",
) -> Response:
    values = {
        "code": code,
        "name": name,
        "kind": kind,
        "city": city,
        "address": address,
        "phone": phone,
        "latitude": latitude,
        "longitude": longitude,
        "opening_hours": opening_hours,
    }

    def create() -> Location:
        try:
            data = LocationIn(
                code=code.strip(),
                name=name.strip(),
                kind=LocationKind(kind) if kind in KINDS else LocationKind.STORE,
                city=city.strip(),
                address=address.strip(),
                phone=phone.strip(),
                latitude=_coordinate(latitude, "latitude"),
                longitude=_coordinate(longitude, "longitude"),
                opening_hours=opening_hours.strip(),
                accepts_pickup=bool(accepts_pickup),
                ships_online=bool(ships_online),
            )
        except ValidationError as invalid:
            first = invalid.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "code"
            raise InvalidCatalogInput(data={"field": field}) from invalid
        return locations.create_location(session, page.principal, data)

    outcome = attempt(session, create)
    if isinstance(outcome, SiyuError):
        flash = ("error", catalog_error_message(page.t, outcome))
        return _locations_page(page, session, flash=flash, values=values, status=outcome.status)
    return RedirectResponse(f"{LOCATIONS_PATH}?saved=1", status_code=303)


@router.post(LOCATIONS_PATH + "/{location_id}/toggle")
def location_toggle(location_id: PathId, page: ManagePage, session: SessionDep) -> Response:
    location = locations.get_location(session, location_id)
    update = LocationUpdate(is_active=not location.is_active)
    outcome = attempt(
        session, lambda: locations.update_location(session, page.principal, location.id, update)
    )
    if isinstance(outcome, SiyuError):
        flash = ("error", catalog_error_message(page.t, outcome))
        return _locations_page(page, session, flash=flash, status=outcome.status)
    return RedirectResponse(f"{LOCATIONS_PATH}?saved=1", status_code=303)


def _stock_page(
    page: ConsolePage,
    session: Session,
    location_id: int | None,
    *,
    q: str = "",
    flash: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    all_locations = locations.list_locations(session)
    current = next((loc for loc in all_locations if loc.id == location_id), None)
    if current is None and all_locations:
        current = all_locations[0]
    rows = stock_admin.location_stock(session, current.id, q=q) if current else []
    movements: list[StockMovement] = []
    if current is not None:
        movements, _ = stock_admin.movements(
            session,
            stock_admin.MovementFilter(location_id=current.id),
            limit=MOVEMENTS_SHOWN,
        )
    sku_ids = {movement.sku_id for movement in movements}
    sku_codes = {
        row.id: row.code
        for row in session.execute(select(Sku.id, Sku.code).where(Sku.id.in_(sku_ids)))
    }
    return page.render(
        "catalog_stock.html",
        active=ACTIVE,
        status=status,
        locations=all_locations,
        current=current,
        rows=rows,
        movements=movements,
        sku_codes=sku_codes,
        q=q,
        flash=flash,
    )


@router.get(STOCK_PATH)
def stock_page(
    page: ManagePage,
    session: SessionDep,
    location_id: QueryId = None,
    q: Annotated[str, Query(max_length=64)] = "",
    done: Annotated[str, Query(max_length=16)] = "",
) -> HTMLResponse:
    flash = None
    if done in {"receive", "adjust"}:
        flash = ("success", page.t(f"catalog.stock.done.{done}"))
    return _stock_page(page, session, location_id, q=q, flash=flash)


def _sku_by_code(session: Session, code: str) -> int:
    sku_id = session.scalar(select(Sku.id).where(Sku.code == code.strip()))
    if sku_id is None:
        raise InvalidCatalogInput("No such SKU.", data={"field": "sku_code", "code": code})
    return sku_id


def _stock_change(
    page: ConsolePage, session: Session, location_id: int, kind: str, change: object
) -> Response:
    outcome = attempt(session, change)  # type: ignore[arg-type]
    if isinstance(outcome, SiyuError):
        flash = ("error", catalog_error_message(page.t, outcome))
        return _stock_page(page, session, location_id, flash=flash, status=outcome.status)
    return RedirectResponse(f"{STOCK_PATH}?location_id={location_id}&done={kind}", status_code=303)


@router.post(STOCK_PATH + "/receive")
def stock_receive(
    page: ManagePage,
    session: SessionDep,
    location_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    sku_code: FormText = "",
    quantity: FormText = "",
    reason: FormText = "",
) -> Response:
    def receive() -> object:
        amount = parse_whole(quantity, field_name="quantity")
        try:
            data = StockReceiveIn(
                sku_id=_sku_by_code(session, sku_code),
                location_id=location_id,
                quantity=amount,
                reason=reason.strip()[:200],
            )
        except ValidationError as invalid:
            raise InvalidCatalogInput(data={"field": "quantity"}) from invalid
        return stock_admin.receive(session, page.principal, data)

    return _stock_change(page, session, location_id, "receive", receive)


@router.post(STOCK_PATH + "/adjust")
def stock_adjust(
    page: ManagePage,
    session: SessionDep,
    location_id: Annotated[int, Form(ge=1, le=MAX_ID)],
    sku_code: FormText = "",
    delta: FormText = "",
    reason: FormText = "",
) -> Response:
    def adjust() -> object:
        amount = parse_whole(delta, field_name="delta")
        try:
            data = StockAdjustIn(
                sku_id=_sku_by_code(session, sku_code),
                location_id=location_id,
                delta=amount,
                reason=reason.strip()[:200],
            )
        except ValidationError as invalid:
            first = invalid.errors()[0]
            field = str(first["loc"][0]) if first["loc"] else "delta"
            raise InvalidCatalogInput(data={"field": field}) from invalid
        return stock_admin.adjust(session, page.principal, data)

    return _stock_change(page, session, location_id, "adjust", adjust)
