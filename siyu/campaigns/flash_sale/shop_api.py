"""Storefront flash sale under /api/shop/v1/campaigns/flash-sale.

``POST /reservations`` is the lean path (see ``runtime``): ``async def``, no session
dependency, and most requests never reach it: ``fast_path`` answers them in front of
FastAPI. Everything else is an ordinary route.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from siyu.campaigns.flash_sale import reserving, service
from siyu.campaigns.flash_sale.errors import ReservationNotFound
from siyu.campaigns.flash_sale.runtime import runtime_for
from siyu.campaigns.flash_sale.schemas import (
    ReservationList,
    ReservationOut,
    ReserveIn,
    ShopFlashSaleOut,
    ShopItemOut,
    ShopSessionOut,
)
from siyu.campaigns.registry import phases
from siyu.campaigns.registry import service as registry
from siyu.core import clock
from siyu.core.http import SessionDep, client_ip
from siyu.customers.sessions import CurrentCustomer, token_from_headers
from siyu.models.flash_sale import FlashSaleItem, FlashSaleReservation

router = APIRouter(prefix="/api/shop/v1/campaigns/flash-sale", tags=["storefront"])


@router.post("/reservations", response_model=ReservationOut, status_code=202)
async def reserve(body: ReserveIn, request: Request) -> ReservationOut:
    """Take a unit. 202: the reservation holds it; its order follows within moments
    (poll ``GET /reservations/{id}``). The plain ASGI route in ``fast_path`` answers
    well-formed requests before they reach here; both run ``reserving.reserve``."""
    reservation = await reserving.reserve(
        runtime_for(request.app),
        token_from_headers(request),
        client_ip(request),
        reserving.ReserveBody(
            item_id=body.item_id,
            quantity=body.quantity,
            fulfilment=body.fulfilment.value,
            pickup_store_id=body.pickup_store_id,
            address=body.address.model_dump() if body.address else None,
        ),
    )
    return ReservationOut(
        public_id=reservation.public_id,
        status="reserved",
        item_id=body.item_id,
        quantity=reservation.quantity,
        unit_price=reservation.unit_price,
    )


def _out(session: SessionDep, rows: list[FlashSaleReservation]) -> list[ReservationOut]:
    items = dict(
        session.execute(
            select(FlashSaleItem.id, FlashSaleItem.public_id).where(
                FlashSaleItem.id.in_({row.item_id for row in rows})
            )
        ).all()
    )
    order_ids = service.order_public_ids(
        session, [row.order_id for row in rows if row.order_id is not None]
    )
    return [
        ReservationOut(
            public_id=row.public_id,
            status=row.status,
            item_id=items.get(row.item_id),
            quantity=row.quantity,
            unit_price=row.unit_price,
            order_public_id=order_ids.get(row.order_id) if row.order_id else None,
            failure_code=row.failure_code,
            created_at=row.created_at,
        )
        for row in rows
    ]


@router.get("/reservations/{public_id}", response_model=ReservationOut)
def my_reservation(
    public_id: str, customer: CurrentCustomer, session: SessionDep
) -> ReservationOut:
    """404 until a Redis reservation is drained (moments): the page keeps polling."""
    row = session.scalars(
        select(FlashSaleReservation).where(
            FlashSaleReservation.public_id == public_id,
            FlashSaleReservation.customer_id == customer.customer_id,
        )
    ).first()
    if row is None:
        raise ReservationNotFound(data={"reservation": public_id})
    return _out(session, [row])[0]


@router.get("/reservations", response_model=ReservationList)
def my_reservations(
    customer: CurrentCustomer,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReservationList:
    rows = list(
        session.scalars(
            select(FlashSaleReservation)
            .where(FlashSaleReservation.customer_id == customer.customer_id)
            .order_by(FlashSaleReservation.id.desc())
            .limit(limit)
        )
    )
    return ReservationList(items=_out(session, rows))


# Last: "/reservations" is not a campaign id.
@router.get("/{public_id}", response_model=ShopFlashSaleOut)
def flash_sale(public_id: str, session: SessionDep) -> ShopFlashSaleOut:
    """What the page shows (no sign-in needed): sessions with their phase, items with
    the stock left (the database's figure; on Redis it trails by the drain delay)."""
    campaign = registry.get_public(session, public_id, kind=service.KIND)
    rows = service.sessions_of(session, [campaign.id])
    views = service.item_views(session, service.items_of(session, [row.id for row in rows]))
    now = clock.now()
    return ShopFlashSaleOut(
        public_id=campaign.public_id,
        name=campaign.name,
        description=campaign.description,
        phase=phases.phase_of(campaign, now).value,
        warmup_at=campaign.warmup_at,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        server_time=now,
        sessions=[
            ShopSessionOut(
                public_id=row.public_id,
                name=row.name,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                phase=service.session_phase(row, now).value,
                items=[
                    ShopItemOut(
                        public_id=view.item.public_id,
                        product_name=view.product_name,
                        specs=view.specs,
                        image=view.image,
                        list_price=view.list_price,
                        campaign_price=view.item.campaign_price,
                        starting_stock=view.item.starting_stock,
                        stock_left=view.item.stock_left,
                        per_customer_limit=view.item.per_customer_limit,
                    )
                    for view in views
                    if view.item.session_id == row.id
                ],
            )
            for row in rows
        ],
    )
