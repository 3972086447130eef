"""Console pages of orders (订单): the filtered list, the order page and its actions.

Reads need ``orders.read`` and are scoped like the API (a guide sees the orders
attributed to them, a store manager their store's); an order outside the scope is
"not found". Shipping, delivery and cancelling need ``orders.manage``; refunds (in
``refunds_pages``) need ``orders.refund``. Every action calls the same services as
``siyu.orders.api`` and writes the same audit rows; a failed action shows its error
on the order page and changes nothing (the service call runs in a savepoint:
``staff_pages.attempt``). Forms post and redirect, so the pages work without
JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.core.http import PiiDep, SessionDep
from siyu.models.location import Location, LocationKind
from siyu.models.order import Fulfilment, Order, OrderSource, OrderStatus
from siyu.orders import lifecycle, reads, refunds, state
from siyu.orders.errors import OrderNotFound
from siyu.orders.schemas import OrderOut
from siyu.staff import audit
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.web.console.deps import ConsolePage, page_requiring
from siyu.web.console.errors import error_page
from siyu.web.console.orders_forms import (
    ACTIVE,
    ORDERS_PATH,
    channel_code_label,
    day_start,
    format_yuan,
    location_names,
    next_day_start,
    optional_id,
    orders_error_message,
    parse_day,
    staff_names,
)
from siyu.web.console.staff_pages import Flash, attempt

router = APIRouter()

ReaderPage = Annotated[ConsolePage, Depends(page_requiring(Permission.ORDERS_READ))]
ManagerPage = Annotated[ConsolePage, Depends(page_requiring(Permission.ORDERS_MANAGE))]
PAGE_SIZE = 20
STATUSES = [status.value for status in OrderStatus]
SOURCES = [source.value for source in OrderSource]
DEFAULT_CANCEL_REASON = "staff_cancelled"
# The "done" query parameter after a successful action, and its success message.
DONE_MESSAGES = {
    "shipped": "orders.done.shipped",
    "delivered": "orders.done.delivered",
    "cancelled": "orders.done.cancelled",
    "refunded": "orders.done.refunded",
}


def actor_of(principal: Principal) -> str:
    return f"staff:{principal.username}"


@dataclass
class ActionForms:
    """What the operator typed, kept when an action fails so it can be corrected."""

    carrier: str = ""
    tracking_number: str = ""
    cancel_reason: str = ""
    refund_quantities: dict[int, str] = field(default_factory=dict)
    refund_amount: str = ""
    refund_reason: str = ""
    refund_restock: bool | None = None
    # Which form the error belongs to: "ship", "deliver", "cancel" or "refund".
    failed: str | None = None


@dataclass(frozen=True)
class AvailableActions:
    ship: bool
    deliver: bool
    cancel: bool
    refund: bool


def _available(page: ConsolePage, order: OrderOut, has_open_refund: bool) -> AvailableActions:
    """Which forms to offer; the services still decide (a stale page gets their error)."""
    status = OrderStatus(order.status)
    may_manage = page.may(Permission.ORDERS_MANAGE)
    # A partly refunded order carries on from where it was before the refund.
    moving_from = (
        OrderStatus(order.resume_status)
        if status == OrderStatus.PARTIALLY_REFUNDED and order.resume_status
        else status
    )
    is_delivery = order.fulfilment == Fulfilment.DELIVERY
    return AvailableActions(
        ship=may_manage
        and is_delivery
        and moving_from == OrderStatus.PAID
        and state.may_move(status, OrderStatus.SHIPPED),
        deliver=may_manage
        and moving_from == (OrderStatus.SHIPPED if is_delivery else OrderStatus.PAID)
        and state.may_move(status, OrderStatus.DELIVERED),
        cancel=may_manage and status == OrderStatus.PENDING_PAYMENT,
        refund=page.may(Permission.ORDERS_REFUND)
        and status in refunds.REFUNDABLE_ORDER_STATUSES
        and order.final_at is None
        and not has_open_refund,
    )


def _detail_page(
    page: ConsolePage,
    session: Session,
    cipher: PiiCipher,
    public_id: str,
    *,
    forms: ActionForms | None = None,
    flash: Flash | None = None,
    status: int = 200,
) -> Response:
    order = visible_order(page, session, public_id)
    if not isinstance(order, Order):
        return order
    shown = reads.order_out(session, cipher, order, reveal_pii=page.may(Permission.CUSTOMERS_PII))
    has_open_refund = any(refund.status in refunds.OPEN_STATUSES for refund in shown.refunds)
    return page.render(
        "orders_detail.html",
        active=ACTIVE,
        status=status,
        order=shown,
        actions=_available(page, shown, has_open_refund),
        forms=forms or ActionForms(),
        flash=flash,
        yuan=format_yuan,
        store_names=location_names(
            session,
            [shown.store_id, shown.pickup_location_id, *(x.location_id for x in shown.lines)],
        ),
        guide_name=staff_names(session, [shown.guide_id]).get(shown.guide_id or 0),
        channel_code=channel_code_label(session, shown.channel_code_id),
        pii_visible=page.may(Permission.CUSTOMERS_PII),
        may_open_customer=page.may(Permission.CUSTOMERS_READ),
        may_see_payments=page.may(Permission.ORDERS_REFUND),
        may_review=page.may(Permission.ORDERS_REFUND),
    )


def visible_order(page: ConsolePage, session: Session, public_id: str) -> Order | Response:
    """The order if the caller may see it; otherwise the "no such order" page (an order
    outside the caller's scope is not found, never forbidden)."""
    try:
        return reads.staff_order(session, page.principal, public_id)
    except OrderNotFound as missing:
        message = orders_error_message(page.t, missing)
        return error_page(page.request, status=missing.status, message=message)


def _store_options(session: Session) -> list[Location]:
    return list(
        session.scalars(
            select(Location).where(Location.kind == LocationKind.STORE).order_by(Location.name)
        )
    )


@router.get(ORDERS_PATH)
def order_list(
    page: ReaderPage,
    session: SessionDep,
    status: Annotated[str, Query(max_length=24)] = "",
    store_id: Annotated[str, Query(max_length=20)] = "",
    source: Annotated[str, Query(max_length=16)] = "",
    date_from: Annotated[str, Query(max_length=10)] = "",
    date_to: Annotated[str, Query(max_length=10)] = "",
    q: Annotated[str, Query(max_length=40)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    zone = page.request.app.state.settings.tzinfo
    day_from, day_to = parse_day(date_from), parse_day(date_to)
    filters = reads.OrderFilter(
        status=status if status in STATUSES else None,
        store_id=optional_id(store_id),
        source=source if source in SOURCES else None,
        created_from=day_start(day_from, zone) if day_from else None,
        created_to=next_day_start(day_to, zone) if day_to else None,
        public_id=q.strip() or None,
    )
    result = reads.staff_orders(
        session, page.principal, filters, limit=PAGE_SIZE, cursor=cursor or None
    )
    query: dict[str, Any] = {
        "status": filters.status or "",
        "store_id": filters.store_id or "",
        "source": filters.source or "",
        "date_from": day_from.isoformat() if day_from else "",
        "date_to": day_to.isoformat() if day_to else "",
        "q": q.strip(),
    }
    flash = None
    if (date_from.strip() and day_from is None) or (date_to.strip() and day_to is None):
        flash = Flash("error", page.t("orders.filter.bad_date"))
    return page.render(
        "orders.html",
        active=ACTIVE,
        result=result,
        query=query,
        statuses=STATUSES,
        sources=SOURCES,
        stores=_store_options(session),
        store_names=location_names(session, [item.store_id for item in result.items]),
        guide_names=staff_names(session, [item.guide_id for item in result.items]),
        filtered=any(query.values()),
        flash=flash,
        yuan=format_yuan,
        may_refund=page.may(Permission.ORDERS_REFUND),
        may_open_customer=page.may(Permission.CUSTOMERS_READ),
    )


@router.get(ORDERS_PATH + "/{public_id}")
def order_detail(
    public_id: str,
    page: ReaderPage,
    session: SessionDep,
    cipher: PiiDep,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    flash = Flash("success", page.t(DONE_MESSAGES[done])) if done in DONE_MESSAGES else None
    return _detail_page(page, session, cipher, public_id, flash=flash)


def after_action(
    page: ConsolePage,
    session: Session,
    cipher: PiiCipher,
    public_id: str,
    outcome: object,
    forms: ActionForms,
    done: str,
) -> Response:
    if isinstance(outcome, SiyuError):
        flash = Flash("error", orders_error_message(page.t, outcome))
        return _detail_page(
            page, session, cipher, public_id, forms=forms, flash=flash, status=outcome.status
        )
    # Post/redirect/get, so a reload does not post the form again.
    return RedirectResponse(f"{ORDERS_PATH}/{public_id}?done={done}", status_code=303)


@router.post(ORDERS_PATH + "/{public_id}/ship")
def order_ship(
    public_id: str,
    page: ManagerPage,
    session: SessionDep,
    cipher: PiiDep,
    carrier: Annotated[str, Form(max_length=32)] = "",
    tracking_number: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    order = visible_order(page, session, public_id)
    if not isinstance(order, Order):
        return order
    settings = page.request.app.state.settings

    def ship() -> Order:
        lifecycle.ship(
            session,
            order,
            actor=actor_of(page.principal),
            carrier=carrier,
            tracking_number=tracking_number,
            settings=settings,
        )
        audit.record(
            session,
            page.principal,
            "order.ship",
            target_type="order",
            target_id=public_id,
            detail={"carrier": carrier.strip(), "tracking_number": tracking_number.strip()},
        )
        return order

    forms = ActionForms(carrier=carrier, tracking_number=tracking_number, failed="ship")
    outcome = attempt(session, ship)
    return after_action(page, session, cipher, public_id, outcome, forms, "shipped")


@router.post(ORDERS_PATH + "/{public_id}/deliver")
def order_deliver(
    public_id: str, page: ManagerPage, session: SessionDep, cipher: PiiDep
) -> Response:
    """Delivered by the carrier, or handed over in the store (pick-up)."""
    order = visible_order(page, session, public_id)
    if not isinstance(order, Order):
        return order
    settings = page.request.app.state.settings

    def deliver() -> Order:
        lifecycle.deliver(session, order, actor=actor_of(page.principal), settings=settings)
        audit.record(
            session, page.principal, "order.deliver", target_type="order", target_id=public_id
        )
        return order

    outcome = attempt(session, deliver)
    return after_action(
        page, session, cipher, public_id, outcome, ActionForms(failed="deliver"), "delivered"
    )


@router.post(ORDERS_PATH + "/{public_id}/cancel")
def order_cancel(
    public_id: str,
    page: ManagerPage,
    session: SessionDep,
    cipher: PiiDep,
    reason: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    order = visible_order(page, session, public_id)
    if not isinstance(order, Order):
        return order
    chosen = reason.strip() or DEFAULT_CANCEL_REASON

    def cancel() -> Order:
        lifecycle.cancel(session, order, actor=actor_of(page.principal), reason=chosen)
        audit.record(
            session,
            page.principal,
            "order.cancel",
            target_type="order",
            target_id=public_id,
            detail={"reason": chosen},
        )
        return order

    forms = ActionForms(cancel_reason=reason, failed="cancel")
    outcome = attempt(session, cancel)
    return after_action(page, session, cipher, public_id, outcome, forms, "cancelled")
