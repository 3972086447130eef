"""Refunds in the console: the operator's refund from the order page, the review
queue (退款审核), and flagged payment notifications (支付异常).

A refund from the order page needs ``orders.refund``, picks units per line (an
optional lower amount in yuan for goodwill) and is approved at once, like
``POST /api/v1/orders/{id}/refunds``.

The queue lists refunds of orders in the caller's scope (``orders.read``), requested
ones by default; approving or rejecting needs ``orders.refund`` and is audited like
``siyu.orders.api``. Flagged notifications (amount mismatches, unknown payments) are
read-only and need ``orders.refund``, as their API does.

These routes sit under /console/orders, so the lead includes this module's router
before ``orders_pages``: otherwise "refunds" and "payments" would be taken for an
order number.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.core.http import PiiDep, SessionDep
from siyu.core.pagination import decode_cursor, encode_cursor
from siyu.models.order import Order
from siyu.models.payment import Payment, PaymentNotification, Refund, RefundStatus
from siyu.orders import reads, refunds
from siyu.orders.errors import InvalidRefund, PaymentNotFound
from siyu.staff import audit
from siyu.staff.permissions import Permission
from siyu.web.console import orders_pages
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_page
from siyu.web.console.orders_forms import (
    ACTIVE,
    ORDERS_PATH,
    PAYMENTS_PATH,
    REFUNDS_PATH,
    format_yuan,
    orders_error_message,
    parse_quantity,
    parse_yuan,
)
from siyu.web.console.staff_pages import Flash, attempt

router = APIRouter()

ReaderPage = Annotated[ConsolePage, Depends(page_requiring(Permission.ORDERS_READ))]
RefunderPage = Annotated[ConsolePage, Depends(page_requiring(Permission.ORDERS_REFUND))]
PAGE_SIZE = 20
REFUND_STATUSES = [status.value for status in RefundStatus]
# The queue opens on what waits for a decision.
DEFAULT_REFUND_STATUS = RefundStatus.REQUESTED.value
RESTOCK_CHOICES = {"": None, "yes": True, "no": False}
MAX_NOTE_LENGTH = 200


def _queue_page(
    page: ConsolePage,
    session: Session,
    *,
    status_filter: str,
    cursor: str = "",
    flash: Flash | None = None,
    failed_refund: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    result = reads.refund_page(
        session,
        page.principal,
        status=None if status_filter == "all" else status_filter,
        limit=PAGE_SIZE,
        cursor=cursor or None,
    )
    return page.render(
        "refunds.html",
        active=ACTIVE,
        status=status,
        result=result,
        status_filter=status_filter,
        statuses=[*REFUND_STATUSES, "all"],
        may_review=page.may(Permission.ORDERS_REFUND),
        may_see_payments=page.may(Permission.ORDERS_REFUND),
        flash=flash,
        failed_refund=failed_refund,
        yuan=format_yuan,
        sub="refunds",
    )


@router.get(REFUNDS_PATH)
def refund_queue(
    page: ReaderPage,
    session: SessionDep,
    status: Annotated[str, Query(max_length=16)] = DEFAULT_REFUND_STATUS,
    cursor: Annotated[str, Query(max_length=200)] = "",
    done: Annotated[str, Query(max_length=16)] = "",
    refund: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    status_filter = status if status in [*REFUND_STATUSES, "all"] else DEFAULT_REFUND_STATUS
    flash = None
    if done in ("approved", "rejected"):
        flash = Flash("success", page.t(f"orders.refunds.done.{done}", refund=refund))
    return _queue_page(page, session, status_filter=status_filter, cursor=cursor, flash=flash)


def _review(
    page: ConsolePage, session: Session, public_id: str, action: str, note: str, restock: str
) -> Response:
    def review() -> Refund:
        refund = reads.staff_refund(session, page.principal, public_id)
        if action == "approve":
            refunds.approve(
                session,
                refund,
                actor=orders_pages.actor_of(page.principal),
                restock=RESTOCK_CHOICES.get(restock),
                note=note.strip()[:MAX_NOTE_LENGTH],
            )
            audit.record(
                session, page.principal, "refund.approve", target_type="refund", target_id=public_id
            )
        else:
            refunds.reject(
                session,
                refund,
                actor=orders_pages.actor_of(page.principal),
                note=note.strip()[:MAX_NOTE_LENGTH],
            )
            audit.record(
                session,
                page.principal,
                "refund.reject",
                target_type="refund",
                target_id=public_id,
                detail={"note": note.strip()},
            )
        return refund

    outcome = attempt(session, review)
    if isinstance(outcome, SiyuError):
        flash = Flash("error", orders_error_message(page.t, outcome))
        return _queue_page(
            page,
            session,
            status_filter=DEFAULT_REFUND_STATUS,
            flash=flash,
            failed_refund=public_id,
            status=outcome.status,
        )
    done = "approved" if action == "approve" else "rejected"
    return RedirectResponse(f"{REFUNDS_PATH}?done={done}&refund={public_id}", status_code=303)


@router.post(REFUNDS_PATH + "/{public_id}/approve")
def refund_approve(
    public_id: str,
    page: RefunderPage,
    session: SessionDep,
    note: Annotated[str, Form(max_length=1000)] = "",
    restock: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    return _review(page, session, public_id, "approve", note, restock)


@router.post(REFUNDS_PATH + "/{public_id}/reject")
def refund_reject(
    public_id: str,
    page: RefunderPage,
    session: SessionDep,
    note: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    return _review(page, session, public_id, "reject", note, "")


@router.post(ORDERS_PATH + "/{public_id}/refund")
def order_refund(
    public_id: str,
    page: RefunderPage,
    session: SessionDep,
    cipher: PiiDep,
    line_no: Annotated[list[int] | None, Form(max_length=50)] = None,
    quantity: Annotated[list[str] | None, Form(max_length=50)] = None,
    amount: Annotated[str, Form(max_length=20)] = "",
    restock: Annotated[str, Form(max_length=5)] = "",
    reason: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """The operator's own refund of chosen units (an optional lower amount for
    goodwill), approved at once like ``POST /api/v1/orders/{id}/refunds``."""
    order = orders_pages.visible_order(page, session, public_id)
    if not isinstance(order, Order):
        return order
    line_numbers, quantities = line_no or [], quantity or []
    forms = orders_pages.ActionForms(
        refund_quantities=dict(zip(line_numbers, quantities, strict=False)),
        refund_amount=amount,
        refund_reason=reason,
        refund_restock=bool(restock),
        failed="refund",
    )

    def refund() -> Refund:
        if len(line_numbers) != len(quantities):
            raise InvalidRefund("Every quantity belongs to a line.", data={"field": "items"})
        items = [
            refunds.RefundItem(number, parse_quantity(text, number))
            for number, text in zip(line_numbers, quantities, strict=True)
        ]
        items = [item for item in items if item.quantity != 0]
        fen = parse_yuan(amount)
        if not reason.strip():
            raise InvalidRefund("Say why the order is refunded.", data={"field": "reason"})
        created = refunds.request_refund(
            session,
            order,
            items=items,
            reason=reason,
            requested_by=orders_pages.actor_of(page.principal),
            amount=fen,
            restock=bool(restock),
        )
        refunds.approve(
            session, created, actor=orders_pages.actor_of(page.principal), restock=bool(restock)
        )
        audit.record(
            session,
            page.principal,
            "refund.create",
            target_type="refund",
            target_id=created.public_id,
            detail={"order": public_id, "amount": created.amount, "approved": True},
        )
        return created

    outcome = attempt(session, refund)
    return orders_pages.after_action(page, session, cipher, public_id, outcome, forms, "refunded")


def _orders_by_trade_number(session: Session, trade_numbers: set[str]) -> dict[str, str]:
    """out_trade_no (a payment's public id) → the order's public id, where known."""
    if not trade_numbers:
        return {}
    rows = session.execute(
        select(Payment.public_id, Order.public_id)
        .join(Order, Order.id == Payment.order_id)
        .where(Payment.public_id.in_(trade_numbers))
    )
    return {key: value for key, value in rows}


@router.get(PAYMENTS_PATH)
def payment_notifications(
    page: RefunderPage,
    session: SessionDep,
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    statement = select(PaymentNotification).where(PaymentNotification.is_flagged.is_(True))
    if cursor:
        (last_id,) = decode_cursor(cursor, parts=1)
        statement = statement.where(PaymentNotification.id < last_id)
    rows = list(
        session.scalars(statement.order_by(PaymentNotification.id.desc()).limit(PAGE_SIZE + 1))
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return page.render(
        "orders_payments.html",
        active=ACTIVE,
        notifications=rows,
        next_cursor=encode_cursor(rows[-1].id) if more and rows else None,
        orders=_orders_by_trade_number(
            session, {row.out_trade_no for row in rows if row.out_trade_no}
        ),
        sub="payments",
        may_see_payments=True,
    )


@router.get(PAYMENTS_PATH + "/{notification_id:int}")
def payment_notification_detail(
    notification_id: int, page: RefunderPage, session: SessionDep
) -> Response:
    notification = session.get(PaymentNotification, notification_id)
    if notification is None:
        missing = PaymentNotFound(data={"notification": notification_id})
        message = orders_error_message(page.t, missing)
        return error_page(page.request, status=missing.status, message=message)
    trade_numbers = {notification.out_trade_no} if notification.out_trade_no else set()
    return page.render(
        "orders_payment_detail.html",
        active=ACTIVE,
        notification=notification,
        # Chinese stays readable (tojson would escape it) and keys come out sorted.
        resource_json=json.dumps(
            notification.resource, ensure_ascii=False, indent=2, sort_keys=True, default=str
        ),
        order_public_id=_orders_by_trade_number(session, trade_numbers).get(
            notification.out_trade_no or ""
        ),
        sub="payments",
        may_see_payments=True,
    )
