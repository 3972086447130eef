"""Operator routes under /api/v1: orders, fulfilment, refunds and flagged payments.

Reads are scoped (a store manager sees their store's orders, a guide their own);
an order outside the caller's scope is a 404. Every write is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select

from siyu.core.http import PiiDep, SessionDep, SettingsDep
from siyu.core.pagination import check_limit
from siyu.models.catalog import SalesChannel
from siyu.models.payment import PaymentNotification
from siyu.orders import lifecycle, reads, refunds, service
from siyu.orders.schemas import (
    CancelIn,
    NotificationOut,
    OrderOut,
    OrderPage,
    RefundOut,
    RefundPage,
    RefundReviewIn,
    ShipIn,
    StaffCheckoutIn,
    StaffRefundIn,
)
from siyu.staff import audit
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1", tags=["orders"])

Reader = Annotated[Principal, Depends(require(Permission.ORDERS_READ))]
Manager = Annotated[Principal, Depends(require(Permission.ORDERS_MANAGE))]
Refunder = Annotated[Principal, Depends(require(Permission.ORDERS_REFUND))]


def _actor(principal: Principal) -> str:
    return f"staff:{principal.username}"


@router.get("/orders", response_model=OrderPage)
def list_orders(
    principal: Reader,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=24)] = None,
    customer_id: int | None = None,
    store_id: int | None = None,
    source: Annotated[str | None, Query(max_length=16)] = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    q: Annotated[str | None, Query(max_length=40, description="order number")] = None,
    limit: int = 20,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> OrderPage:
    filters = reads.OrderFilter(
        status=status,
        customer_id=customer_id,
        store_id=store_id,
        source=source,
        created_from=created_from,
        created_to=created_to,
        public_id=q.strip() if q else None,
    )
    return reads.staff_orders(session, principal, filters, limit=limit, cursor=cursor)


@router.post("/orders", response_model=OrderOut, status_code=201)
def place_order_for_customer(
    body: StaffCheckoutIn,
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
    cipher: PiiDep,
) -> OrderOut:
    """Staff place an order for a customer (a store order, or a mall order on their
    behalf); it waits for the customer's payment like any other."""
    reads.visible_customer(session, principal, body.customer_id)
    order, _lines = service.place(
        session,
        cipher,
        body.customer_id,
        body,
        settings,
        touchpoint="store" if body.sales_channel == SalesChannel.STORE else None,
        actor=_actor(principal),
        sales_channel=body.sales_channel,
        guide_id=principal.staff_id if principal.staff_id else None,
    )
    audit.record(session, principal, "order.create", target_type="order", target_id=order.public_id)
    return reads.order_out(
        session, cipher, order, reveal_pii=principal.has(Permission.CUSTOMERS_PII)
    )


@router.get("/orders/{public_id}", response_model=OrderOut)
def get_order(public_id: str, principal: Reader, session: SessionDep, cipher: PiiDep) -> OrderOut:
    order = reads.staff_order(session, principal, public_id)
    return reads.order_out(
        session, cipher, order, reveal_pii=principal.has(Permission.CUSTOMERS_PII)
    )


@router.post("/orders/{public_id}/ship", response_model=OrderOut)
def ship_order(
    public_id: str,
    body: ShipIn,
    principal: Manager,
    session: SessionDep,
    settings: SettingsDep,
    cipher: PiiDep,
) -> OrderOut:
    order = reads.staff_order(session, principal, public_id)
    lifecycle.ship(
        session,
        order,
        actor=_actor(principal),
        carrier=body.carrier,
        tracking_number=body.tracking_number,
        settings=settings,
    )
    audit.record(
        session,
        principal,
        "order.ship",
        target_type="order",
        target_id=public_id,
        detail={"carrier": body.carrier, "tracking_number": body.tracking_number},
    )
    return reads.order_out(
        session, cipher, order, reveal_pii=principal.has(Permission.CUSTOMERS_PII)
    )


@router.post("/orders/{public_id}/deliver", response_model=OrderOut)
def deliver_order(
    public_id: str, principal: Manager, session: SessionDep, settings: SettingsDep, cipher: PiiDep
) -> OrderOut:
    """Delivered by the carrier, or handed over in the store (pick-up)."""
    order = reads.staff_order(session, principal, public_id)
    lifecycle.deliver(session, order, actor=_actor(principal), settings=settings)
    audit.record(session, principal, "order.deliver", target_type="order", target_id=public_id)
    return reads.order_out(
        session, cipher, order, reveal_pii=principal.has(Permission.CUSTOMERS_PII)
    )


@router.post("/orders/{public_id}/cancel", response_model=OrderOut)
def cancel_order(
    public_id: str, body: CancelIn, principal: Manager, session: SessionDep, cipher: PiiDep
) -> OrderOut:
    order = reads.staff_order(session, principal, public_id)
    lifecycle.cancel(session, order, actor=_actor(principal), reason=body.reason)
    audit.record(
        session,
        principal,
        "order.cancel",
        target_type="order",
        target_id=public_id,
        detail={"reason": body.reason},
    )
    return reads.order_out(
        session, cipher, order, reveal_pii=principal.has(Permission.CUSTOMERS_PII)
    )


@router.post("/orders/{public_id}/refunds", response_model=RefundOut, status_code=201)
def refund_order(
    public_id: str, body: StaffRefundIn, principal: Refunder, session: SessionDep
) -> RefundOut:
    order = reads.staff_order(session, principal, public_id)
    items = (
        [refunds.RefundItem(item.line_no, item.quantity) for item in body.items]
        if body.items is not None
        else None
    )
    refund = refunds.request_refund(
        session,
        order,
        items=items,
        reason=body.reason,
        requested_by=_actor(principal),
        amount=body.amount,
        restock=body.restock,
    )
    if body.approve:
        refunds.approve(session, refund, actor=_actor(principal), restock=body.restock)
    audit.record(
        session,
        principal,
        "refund.create",
        target_type="refund",
        target_id=refund.public_id,
        detail={"order": public_id, "amount": refund.amount, "approved": body.approve},
    )
    return reads.refunds_out(session, [refund])[0]


@router.get("/refunds", response_model=RefundPage)
def list_refunds(
    principal: Reader,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    limit: int = 20,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> RefundPage:
    return reads.refund_page(session, principal, status=status, limit=limit, cursor=cursor)


@router.post("/refunds/{public_id}/approve", response_model=RefundOut)
def approve_refund(
    public_id: str, body: RefundReviewIn, principal: Refunder, session: SessionDep
) -> RefundOut:
    refund = reads.staff_refund(session, principal, public_id)
    refunds.approve(session, refund, actor=_actor(principal), restock=body.restock, note=body.note)
    audit.record(session, principal, "refund.approve", target_type="refund", target_id=public_id)
    return reads.refunds_out(session, [refund])[0]


@router.post("/refunds/{public_id}/reject", response_model=RefundOut)
def reject_refund(
    public_id: str, body: RefundReviewIn, principal: Refunder, session: SessionDep
) -> RefundOut:
    refund = reads.staff_refund(session, principal, public_id)
    refunds.reject(session, refund, actor=_actor(principal), note=body.note)
    audit.record(
        session,
        principal,
        "refund.reject",
        target_type="refund",
        target_id=public_id,
        detail={"note": body.note},
    )
    return reads.refunds_out(session, [refund])[0]


@router.get("/payments/notifications", response_model=list[NotificationOut])
def payment_notifications(
    principal: Annotated[Principal, Depends(require(Permission.ORDERS_REFUND))],
    session: SessionDep,
    flagged: bool = True,
    limit: int = 50,
) -> list[NotificationOut]:
    check_limit(limit)
    statement = select(PaymentNotification).order_by(PaymentNotification.id.desc()).limit(limit)
    if flagged:
        statement = statement.where(PaymentNotification.is_flagged.is_(True))
    return [
        NotificationOut.model_validate(row, from_attributes=True)
        for row in session.scalars(statement)
    ]
