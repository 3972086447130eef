"""Reading orders for the storefront (the customer's own) and the console (scoped)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.core.pagination import check_limit, decode_cursor, encode_cursor
from siyu.customers import access as _customer_access  # noqa: F401  (registers the scope)
from siyu.customers.errors import CustomerNotFound
from siyu.customers.kinds import mask_phone
from siyu.models.customer import Customer, CustomerStatus
from siyu.models.order import Order, OrderLine, OrderTransition
from siyu.models.payment import Payment, Refund, RefundLine
from siyu.orders import access as _access  # noqa: F401  (registers the order scope)
from siyu.orders import checkout
from siyu.orders.errors import OrderNotFound, RefundNotFound
from siyu.orders.pricing.pipeline import PricingResult
from siyu.orders.schemas import (
    AdjustmentOut,
    OrderLineOut,
    OrderOut,
    OrderPage,
    OrderSummaryOut,
    PaymentOut,
    QuoteLineOut,
    QuoteOut,
    RefundLineOut,
    RefundOut,
    RefundPage,
    TransitionOut,
)
from siyu.staff.principal import Principal
from siyu.staff.scope import scoped


def quote_out(result: PricingResult) -> QuoteOut:
    return QuoteOut(
        lines=[
            QuoteLineOut(
                line_no=line.line_no,
                sku_id=line.sku.sku_id,
                product_id=line.sku.product_id,
                product_name=line.sku.product_name,
                specs=line.sku.specs,
                image=line.sku.image,
                quantity=line.quantity,
                unit_list_price=line.sku.list_price,
                unit_price=line.sku.unit_price,
                base_amount=line.base_amount,
                discount_amount=line.discount_amount,
                shipping_amount=line.shipping_amount,
                payable_amount=line.payable_amount,
                price_breakdown=[AdjustmentOut(**item) for item in line.breakdown],
            )
            for line in result.lines
        ],
        items_amount=result.items_amount,
        discount_amount=result.discount_amount,
        shipping_amount=result.shipping_amount,
        total_amount=result.total_amount,
        steps=result.steps,
        messages=result.messages,
        details=result.details,
    )


@dataclass(frozen=True)
class OrderFilter:
    status: str | None = None
    customer_id: int | None = None
    store_id: int | None = None
    source: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    public_id: str | None = None


def _filtered(statement: Select[Any], filters: OrderFilter) -> Select[Any]:
    if filters.status:
        statement = statement.where(Order.status == filters.status)
    if filters.customer_id is not None:
        statement = statement.where(Order.customer_id == filters.customer_id)
    if filters.store_id is not None:
        statement = statement.where(Order.store_id == filters.store_id)
    if filters.source:
        statement = statement.where(Order.source == filters.source)
    if filters.created_from is not None:
        statement = statement.where(Order.created_at >= filters.created_from)
    if filters.created_to is not None:
        statement = statement.where(Order.created_at < filters.created_to)
    if filters.public_id:
        statement = statement.where(Order.public_id == filters.public_id)
    return statement


def _summary(order: Order, first_line: OrderLine | None) -> OrderSummaryOut:
    return OrderSummaryOut(
        public_id=order.public_id,
        customer_id=order.customer_id,
        status=order.status,
        source=order.source,
        sales_channel=order.sales_channel,
        fulfilment=order.fulfilment,
        total_amount=order.total_amount,
        paid_amount=order.paid_amount,
        refunded_amount=order.refunded_amount,
        item_count=order.item_count,
        store_id=order.store_id,
        guide_id=order.guide_id,
        touchpoint=order.touchpoint,
        created_at=order.created_at,
        paid_at=order.paid_at,
        payment_deadline=order.payment_deadline,
        first_item_name=first_line.product_name if first_line else None,
        first_item_image=first_line.image if first_line else None,
    )


def _page(session: Session, statement: Select[Any], *, limit: int, cursor: str | None) -> OrderPage:
    check_limit(limit)
    if cursor:
        (last_id,) = decode_cursor(cursor, parts=1)
        statement = statement.where(Order.id < last_id)
    orders = list(session.scalars(statement.order_by(Order.id.desc()).limit(limit + 1)))
    more = len(orders) > limit
    orders = orders[:limit]
    first_lines = {
        line.order_id: line
        for line in session.scalars(
            select(OrderLine).where(
                OrderLine.order_id.in_([order.id for order in orders]), OrderLine.line_no == 1
            )
        )
    }
    return OrderPage(
        items=[_summary(order, first_lines.get(order.id)) for order in orders],
        next_cursor=encode_cursor(orders[-1].id) if more and orders else None,
    )


def customer_orders(
    session: Session, customer_id: int, *, status: str | None, limit: int, cursor: str | None
) -> OrderPage:
    statement = _filtered(select(Order), OrderFilter(status=status, customer_id=customer_id))
    return _page(session, statement, limit=limit, cursor=cursor)


def staff_orders(
    session: Session, principal: Principal, filters: OrderFilter, *, limit: int, cursor: str | None
) -> OrderPage:
    statement = scoped(_filtered(select(Order), filters), Order, principal)
    return _page(session, statement, limit=limit, cursor=cursor)


def customer_order(session: Session, customer_id: int, public_id: str) -> Order:
    order = session.scalars(
        select(Order).where(Order.public_id == public_id, Order.customer_id == customer_id)
    ).one_or_none()
    if order is None:
        # Another customer's order is "not found", never "forbidden".
        raise OrderNotFound(data={"order": public_id})
    return order


def staff_order(session: Session, principal: Principal, public_id: str) -> Order:
    order = session.scalars(
        scoped(select(Order).where(Order.public_id == public_id), Order, principal)
    ).one_or_none()
    if order is None:
        raise OrderNotFound(data={"order": public_id})
    return order


def staff_refund(session: Session, principal: Principal, public_id: str) -> Refund:
    refund = session.scalars(select(Refund).where(Refund.public_id == public_id)).one_or_none()
    if refund is None:
        raise RefundNotFound(data={"refund": public_id})
    order = session.get(Order, refund.order_id)
    assert order is not None
    staff_order(session, principal, order.public_id)  # scope check: 404 outside it
    return refund


def refunds_out(session: Session, refunds: list[Refund]) -> list[RefundOut]:
    if not refunds:
        return []
    order_ids_wanted = {refund.order_id for refund in refunds}
    line_numbers = {
        row.id: row.line_no
        for row in session.execute(
            select(OrderLine.id, OrderLine.line_no).where(OrderLine.order_id.in_(order_ids_wanted))
        )
    }
    order_ids = {
        row.id: row.public_id
        for row in session.execute(
            select(Order.id, Order.public_id).where(Order.id.in_(order_ids_wanted))
        )
    }
    lines_by_refund: dict[int, list[RefundLineOut]] = {}
    for refund_line in session.scalars(
        select(RefundLine)
        .where(RefundLine.refund_id.in_([refund.id for refund in refunds]))
        .order_by(RefundLine.id)
    ):
        lines_by_refund.setdefault(refund_line.refund_id, []).append(
            RefundLineOut(
                line_no=line_numbers[refund_line.order_line_id],
                quantity=refund_line.quantity,
                amount=refund_line.amount,
            )
        )
    return [
        RefundOut(
            public_id=refund.public_id,
            order_public_id=order_ids[refund.order_id],
            status=refund.status,
            amount=refund.amount,
            reason=refund.reason,
            restock=refund.restock,
            requested_by=refund.requested_by,
            reviewed_by=refund.reviewed_by,
            reviewed_at=refund.reviewed_at,
            review_note=refund.review_note,
            failure_reason=refund.failure_reason,
            created_at=refund.created_at,
            completed_at=refund.completed_at,
            lines=lines_by_refund.get(refund.id, []),
        )
        for refund in refunds
    ]


def refund_page(
    session: Session,
    principal: Principal,
    *,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> RefundPage:
    check_limit(limit)
    visible_orders = scoped(select(Order.id), Order, principal)
    statement = select(Refund).where(Refund.order_id.in_(visible_orders.scalar_subquery()))
    if status:
        statement = statement.where(Refund.status == status)
    if cursor:
        (last_id,) = decode_cursor(cursor, parts=1)
        statement = statement.where(Refund.id < last_id)
    refunds = list(session.scalars(statement.order_by(Refund.id.desc()).limit(limit + 1)))
    more = len(refunds) > limit
    refunds = refunds[:limit]
    return RefundPage(
        items=refunds_out(session, refunds),
        next_cursor=encode_cursor(refunds[-1].id) if more and refunds else None,
    )


def _address(cipher: PiiCipher, order: Order, *, reveal: bool) -> dict[str, str] | None:
    address = checkout.decrypt_address(cipher, order)
    if address is None or reveal:
        return address
    recipient = address.get("recipient", "")
    return {
        "recipient": (recipient[:1] + "*" * max(len(recipient) - 1, 1)) if recipient else "",
        "phone": mask_phone(address.get("phone", "")),
        "region": address.get("region", ""),
        "detail": "****",
    }


def order_out(session: Session, cipher: PiiCipher, order: Order, *, reveal_pii: bool) -> OrderOut:
    lines = list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
        )
    )
    transitions = session.scalars(
        select(OrderTransition)
        .where(OrderTransition.order_id == order.id)
        .order_by(OrderTransition.id)
    )
    payments = session.scalars(
        select(Payment).where(Payment.order_id == order.id).order_by(Payment.id)
    )
    refunds = list(
        session.scalars(select(Refund).where(Refund.order_id == order.id).order_by(Refund.id))
    )
    summary = _summary(order, lines[0] if lines else None)
    return OrderOut(
        **summary.model_dump(),
        resume_status=order.resume_status,
        pickup_location_id=order.pickup_location_id,
        items_amount=order.items_amount,
        discount_amount=order.discount_amount,
        shipping_amount=order.shipping_amount,
        pricing_steps=list(order.pricing_steps or []),
        channel_code_id=order.channel_code_id,
        campaign_id=order.campaign_id,
        referrer_customer_id=order.referrer_customer_id,
        address=_address(cipher, order, reveal=reveal_pii),
        customer_note=order.customer_note,
        carrier=order.carrier,
        tracking_number=order.tracking_number,
        shipped_at=order.shipped_at,
        delivered_at=order.delivered_at,
        completed_at=order.completed_at,
        cancelled_at=order.cancelled_at,
        cancel_reason=order.cancel_reason,
        final_at=order.final_at,
        lines=[
            OrderLineOut(
                line_no=line.line_no,
                sku_id=line.sku_id,
                product_id=line.product_id,
                product_name=line.product_name,
                specs=dict(line.specs or {}),
                image=line.image,
                quantity=line.quantity,
                unit_list_price=line.unit_list_price,
                unit_price=line.unit_price,
                base_amount=line.base_amount,
                discount_amount=line.discount_amount,
                shipping_amount=line.shipping_amount,
                payable_amount=line.payable_amount,
                price_breakdown=[AdjustmentOut(**item) for item in line.price_breakdown or []],
                sku_code=line.sku_code,
                location_id=line.location_id,
                refunded_quantity=line.refunded_quantity,
                refunded_amount=line.refunded_amount,
            )
            for line in lines
        ],
        transitions=[
            TransitionOut(
                from_status=item.from_status,
                to_status=item.to_status,
                actor=item.actor,
                reason=item.reason,
                created_at=item.created_at,
            )
            for item in transitions
        ],
        payments=[
            PaymentOut(
                public_id=payment.public_id,
                provider=payment.provider,
                status=payment.status,
                amount=payment.amount,
                provider_transaction_id=payment.provider_transaction_id,
                paid_at=payment.paid_at,
                created_at=payment.created_at,
            )
            for payment in payments
        ],
        refunds=refunds_out(session, refunds),
    )


def visible_customer(session: Session, principal: Principal, customer_id: int) -> None:
    """404 unless ``customer_id`` is an active customer inside the caller's scope."""
    found = session.scalar(
        scoped(
            select(Customer.id).where(
                Customer.id == customer_id, Customer.status == CustomerStatus.ACTIVE
            ),
            Customer,
            principal,
        )
    )
    if found is None:
        raise CustomerNotFound(data={"customer_id": customer_id})
