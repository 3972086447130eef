"""Paying a demo order the way the sandbox provider's notification would."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from siyu.demo.offers.context import Context
from siyu.models.order import Order
from siyu.orders.payments import service as payment_service


def pay(session: Session, ctx: Context, order: Order) -> None:
    """Open the sandbox payment and apply its signed success notice a little later."""
    pending = payment_service.open_payment(
        session, order, provider="sandbox", settings=ctx.settings
    )
    ctx.clock.advance(timedelta(seconds=ctx.rng.uniform(20, 240)))
    headers, body = ctx.sandbox.notification(
        out_trade_no=pending.request.out_trade_no, amount=pending.request.amount
    )
    payment_service.apply_notice(session, ctx.sandbox.parse_notification(headers, body))
