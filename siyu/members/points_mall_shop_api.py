"""Storefront points mall under /api/shop/v1/points-mall: what I can exchange (with my
balance and remaining limits), exchanging, and my exchanges. A customer only ever
sees their own exchanges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.http import PiiDep, SessionDep, SettingsDep
from siyu.customers.sessions import CurrentCustomer
from siyu.members import points_mall, points_mall_exchange
from siyu.members import points_mall_pricing as _pricing  # noqa: F401  (registers the step)
from siyu.members.points_mall_exchange import GoodsRequest
from siyu.members.points_mall_schemas import (
    ExchangeIn,
    ShopExchangeList,
    ShopExchangeOut,
    ShopItemList,
    ShopItemOut,
)
from siyu.models.member import PointsExchange, PointsMallItem, PointsMallItemKind
from siyu.models.order import Order

router = APIRouter(prefix="/api/shop/v1/points-mall", tags=["storefront"])


@router.get("/items", response_model=ShopItemList)
def list_items(customer: CurrentCustomer, session: SessionDep) -> ShopItemList:
    balance, entries = points_mall_exchange.shelf(session, customer.customer_id)
    return ShopItemList(
        points_balance=balance,
        items=[
            ShopItemOut(
                public_id=entry.item.public_id,
                kind=entry.item.kind,
                name=entry.item.name,
                description=entry.item.description,
                image=entry.item.image,
                points_price=entry.item.points_price,
                cash_price=entry.item.cash_price,
                stock_left=entry.item.stock_left,
                valid_until=entry.item.valid_until,
                min_tier_rank=entry.item.min_tier_rank,
                remaining_limit=entry.remaining_limit,
                affordable=entry.affordable,
            )
            for entry in entries
        ],
    )


def _out(session: Session, rows: list[PointsExchange]) -> list[ShopExchangeOut]:
    item_ids = {row.item_id for row in rows}
    order_ids = [row.order_id for row in rows if row.order_id is not None]
    items = {
        item.id: item
        for item in session.scalars(select(PointsMallItem).where(PointsMallItem.id.in_(item_ids)))
    }
    orders = {
        row.id: row.public_id
        for row in session.execute(select(Order.id, Order.public_id).where(Order.id.in_(order_ids)))
    }
    codes = points_mall_exchange.coupon_codes(
        session, [row.coupon_id for row in rows if row.coupon_id is not None]
    )
    return [
        ShopExchangeOut(
            public_id=row.public_id,
            item_id=items[row.item_id].public_id,
            item_name=items[row.item_id].name,
            kind=items[row.item_id].kind,
            quantity=row.quantity,
            points=row.points,
            cash_amount=row.cash_amount,
            status=row.status,
            order_public_id=orders.get(row.order_id) if row.order_id else None,
            coupon_code=codes.get(row.coupon_id) if row.coupon_id else None,
            created_at=row.created_at,
        )
        for row in rows
    ]


@router.post("/exchanges", response_model=ShopExchangeOut, status_code=201)
def exchange(
    body: ExchangeIn,
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    cipher: PiiDep,
) -> ShopExchangeOut:
    item = points_mall.get_by_public_id(session, body.item_id)
    if item.kind == PointsMallItemKind.COUPON:
        row = points_mall_exchange.exchange_coupon(
            session, customer.customer_id, item, body.quantity
        )
    else:
        row, _order = points_mall_exchange.exchange_goods(
            session,
            cipher,
            settings,
            customer.customer_id,
            item,
            body.quantity,
            GoodsRequest(
                fulfilment=body.fulfilment,
                pickup_store_id=body.pickup_store_id,
                address=body.address.model_dump() if body.address else None,
                touchpoint=customer.touchpoint,
            ),
        )
    return _out(session, [row])[0]


@router.get("/exchanges", response_model=ShopExchangeList)
def my_exchanges(
    customer: CurrentCustomer,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ShopExchangeList:
    rows = points_mall_exchange.exchanges_of(session, customer.customer_id, limit=limit)
    return ShopExchangeList(items=_out(session, rows))
