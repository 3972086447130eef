"""Storefront routes under /api/shop/v1: cart, checkout, my orders, paying, refunds.

The H5 storefront and a mini program call these with the customer's session token.
A customer only ever sees their own orders; another's order is a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from siyu.core.http import PiiDep, SessionDep, SettingsDep, TransactionsDep
from siyu.customers.sessions import (
    CurrentCustomer,
    CustomerSessionInvalid,
    resolve_token,
    token_from_headers,
)
from siyu.models.order import Order
from siyu.models.payment import Payment
from siyu.orders import cart, lifecycle, reads, refunds, service
from siyu.orders.errors import PaymentNotFound
from siyu.orders.payments import registry
from siyu.orders.payments import service as payment_service
from siyu.orders.payments.sandbox import SandboxProvider
from siyu.orders.schemas import (
    CancelIn,
    CartItemIn,
    CartItemPatch,
    CartLineOut,
    CartOut,
    CheckoutIn,
    OrderOut,
    OrderPage,
    PayIn,
    PaymentStatusOut,
    PayOut,
    QuoteOut,
    RefundOut,
    RefundRequestIn,
)

router = APIRouter(prefix="/api/shop/v1", tags=["storefront"])


def _cart_out(lines: list[cart.CartLine]) -> CartOut:
    items = [
        CartLineOut(
            sku_id=line.sku_id,
            quantity=line.quantity,
            is_selected=line.is_selected,
            product_id=line.sku.product_id if line.sku else None,
            product_name=line.sku.product_name if line.sku else None,
            specs=line.sku.specs if line.sku else {},
            image=line.sku.image if line.sku else None,
            unit_price=line.sku.unit_price if line.sku else None,
            list_price=line.sku.list_price if line.sku else None,
            amount=line.amount,
            available=line.sku is not None,
            unavailable_reason=line.unavailable_reason,
        )
        for line in lines
    ]
    selected = [item for item in items if item.is_selected and item.available]
    return CartOut(
        items=items,
        selected_amount=sum(item.amount for item in selected),
        selected_count=sum(item.quantity for item in selected),
    )


@router.get("/cart", response_model=CartOut)
def get_cart(customer: CurrentCustomer, session: SessionDep) -> CartOut:
    return _cart_out(cart.lines(session, customer.customer_id))


@router.post("/cart/items", response_model=CartOut)
def add_to_cart(body: CartItemIn, customer: CurrentCustomer, session: SessionDep) -> CartOut:
    cart.add(session, customer.customer_id, body.sku_id, body.quantity)
    return _cart_out(cart.lines(session, customer.customer_id))


@router.patch("/cart/items/{sku_id}", response_model=CartOut)
def change_cart_item(
    sku_id: int, body: CartItemPatch, customer: CurrentCustomer, session: SessionDep
) -> CartOut:
    cart.set_quantity(
        session,
        customer.customer_id,
        sku_id,
        quantity=body.quantity,
        is_selected=body.is_selected,
    )
    return _cart_out(cart.lines(session, customer.customer_id))


@router.delete("/cart/items/{sku_id}", response_model=CartOut)
def remove_cart_item(sku_id: int, customer: CurrentCustomer, session: SessionDep) -> CartOut:
    cart.remove(session, customer.customer_id, [sku_id])
    return _cart_out(cart.lines(session, customer.customer_id))


@router.post("/checkout/preview", response_model=QuoteOut)
def preview_checkout(
    body: CheckoutIn, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep
) -> QuoteOut:
    result = service.preview(
        session, customer.customer_id, body, settings, touchpoint=customer.touchpoint
    )
    return reads.quote_out(result)


@router.post("/orders", response_model=OrderOut, status_code=201)
def create_order(
    body: CheckoutIn,
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    cipher: PiiDep,
) -> OrderOut:
    order, _lines = service.place(
        session, cipher, customer.customer_id, body, settings, touchpoint=customer.touchpoint
    )
    return reads.order_out(session, cipher, order, reveal_pii=True)


@router.get("/orders", response_model=OrderPage)
def my_orders(
    customer: CurrentCustomer,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=24)] = None,
    limit: int = 20,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
) -> OrderPage:
    return reads.customer_orders(
        session, customer.customer_id, status=status, limit=limit, cursor=cursor
    )


@router.get("/orders/{public_id}", response_model=OrderOut)
def my_order(
    public_id: str, customer: CurrentCustomer, session: SessionDep, cipher: PiiDep
) -> OrderOut:
    order = reads.customer_order(session, customer.customer_id, public_id)
    return reads.order_out(session, cipher, order, reveal_pii=True)


@router.post("/orders/{public_id}/cancel", response_model=OrderOut)
def cancel_my_order(
    public_id: str,
    customer: CurrentCustomer,
    session: SessionDep,
    cipher: PiiDep,
    body: CancelIn | None = None,
) -> OrderOut:
    order = reads.customer_order(session, customer.customer_id, public_id)
    reason = body.reason if body else "customer_cancelled"
    lifecycle.cancel(session, order, actor="customer", reason=reason)
    return reads.order_out(session, cipher, order, reveal_pii=True)


@router.post("/orders/{public_id}/confirm-receipt", response_model=OrderOut)
def confirm_receipt(
    public_id: str,
    customer: CurrentCustomer,
    session: SessionDep,
    cipher: PiiDep,
    settings: SettingsDep,
) -> OrderOut:
    order = reads.customer_order(session, customer.customer_id, public_id)
    lifecycle.confirm_receipt(session, order, actor="customer", settings=settings)
    return reads.order_out(session, cipher, order, reveal_pii=True)


@router.post("/orders/{public_id}/refunds", response_model=RefundOut, status_code=201)
def request_refund(
    public_id: str, body: RefundRequestIn, customer: CurrentCustomer, session: SessionDep
) -> RefundOut:
    order = reads.customer_order(session, customer.customer_id, public_id)
    items = (
        [refunds.RefundItem(item.line_no, item.quantity) for item in body.items]
        if body.items is not None
        else None
    )
    refund = refunds.request_refund(
        session, order, items=items, reason=body.reason, requested_by="customer"
    )
    return reads.refunds_out(session, [refund])[0]


@router.post("/orders/{public_id}/pay", response_model=PayOut)
def pay_order(
    public_id: str,
    request: Request,
    settings: SettingsDep,
    transactions: TransactionsDep,
    body: PayIn | None = None,
) -> PayOut:
    """Start paying. Three short steps, not one transaction: the provider is called
    between them with no transaction open (a prepay request may take a second, and an
    open SQLite write transaction would stop every other writer meanwhile)."""
    provider_name = (body.provider if body and body.provider else None) or settings.payment_provider
    with transactions() as session:
        customer = resolve_token(session, token_from_headers(request))
        if customer is None:
            raise CustomerSessionInvalid()
        order = reads.customer_order(session, customer.customer_id, public_id)
        pending = payment_service.open_payment(
            session, order, provider=provider_name, settings=settings
        )
    parameters = pending.client_parameters
    if not parameters:
        start = registry.provider_for(pending.provider, settings).start_payment(pending.request)
        parameters = start.client_parameters
        with transactions() as session:
            payment_service.store_client_parameters(session, pending.payment_id, parameters)
    return PayOut(
        payment_id=pending.request.out_trade_no,
        provider=pending.provider,
        amount=pending.request.amount,
        client_parameters=parameters,
    )


def _my_payment(session: SessionDep, customer_id: int, out_trade_no: str) -> tuple[Payment, Order]:
    payment = session.scalars(
        select(Payment).where(Payment.public_id == out_trade_no)
    ).one_or_none()
    order = session.get(Order, payment.order_id) if payment else None
    if payment is None or order is None or order.customer_id != customer_id:
        # Another customer's payment is "not found", never "forbidden".
        raise PaymentNotFound(data={"payment": out_trade_no})
    return payment, order


@router.get("/payments/{out_trade_no}", response_model=PaymentStatusOut)
def payment_status(
    out_trade_no: str, customer: CurrentCustomer, session: SessionDep
) -> PaymentStatusOut:
    payment, order = _my_payment(session, customer.customer_id, out_trade_no)
    return PaymentStatusOut(
        payment_id=payment.public_id,
        order_public_id=order.public_id,
        status=payment.status,
        amount=payment.amount,
        order_status=order.status,
    )


@router.post("/payments/sandbox/{out_trade_no}/confirm", response_model=PaymentStatusOut)
def confirm_sandbox_payment(
    out_trade_no: str, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep
) -> PaymentStatusOut:
    """The sandbox pay page's button: the tester pays. Only the sandbox provider
    exists here; a real provider's money arrives through its notification."""
    payment, order = _my_payment(session, customer.customer_id, out_trade_no)
    if payment.provider != "sandbox":
        raise PaymentNotFound(data={"payment": out_trade_no})
    sandbox = registry.provider_for("sandbox", settings)
    assert isinstance(sandbox, SandboxProvider)
    headers, raw = sandbox.notification(
        out_trade_no=payment.public_id,
        amount=payment.amount,
        notification_id=f"sandbox-confirm:{payment.public_id}",
    )
    payment_service.apply_notice(session, sandbox.parse_notification(headers, raw))
    session.refresh(payment)
    session.refresh(order)
    return PaymentStatusOut(
        payment_id=payment.public_id,
        order_public_id=order.public_id,
        status=payment.status,
        amount=payment.amount,
        order_status=order.status,
    )
