"""Storefront points mall under /api/shop/v1/points-mall: what I can exchange (with my
balance and remaining limits), exchanging, and my exchanges. A customer only ever
sees their own exchanges."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.http import PiiDep, SessionDep, SettingsDep
from siyu.customers.sessions import CurrentCustomer
from siyu.members import points, points_mall, points_mall_exchange
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


def _on_shelf(item: PointsMallItem) -> bool:
    now = clock.now()
    return (item.valid_from is None or item.valid_from <= now) and (
        item.valid_until is None or now < item.valid_until
    )


@router.get("/items", response_model=ShopItemList)
def list_items(customer: CurrentCustomer, session: SessionDep) -> ShopItemList:
    items = [
        item
        for item in points_mall.list_items(session, status=points_mall.ACTIVE)
        if _on_shelf(item)
    ]
    balance, _frozen = points.balance(session, customer.customer_id)
    exchanged = points_mall_exchange.tallies(
        session, customer.customer_id, [item.id for item in items]
    )
    return ShopItemList(
        points_balance=balance,
        items=[
            ShopItemOut(
                public_id=item.public_id,
                kind=item.kind,
                name=item.name,
                description=item.description,
                image=item.image,
                points_price=item.points_price,
                cash_price=item.cash_price,
                stock_left=item.stock_left,
                valid_until=item.valid_until,
                min_tier_rank=item.min_tier_rank,
                remaining_limit=(
                    None
                    if item.per_member_limit is None
                    else max(item.per_member_limit - exchanged.get(item.id, 0), 0)
                ),
                affordable=balance >= item.points_price,
            )
            for item in items
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
