"""Orders still in flight carry their jobs, and the real order services can move them on."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.catalog import stock
from siyu.core.clock import FrozenClock
from siyu.core.settings import Settings
from siyu.models.job import Job
from siyu.models.order import Order
from siyu.orders import lifecycle
from tests.demo.conftest import small_brand


def test_in_flight_orders_have_their_jobs(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    small_brand(session, test_settings, customers=1000)
    now = frozen_clock.now()
    jobs = {job.idempotency_key: job for job in session.scalars(select(Job))}
    assert jobs
    assert all(job.status == "queued" and job.run_at > now for job in jobs.values())
    orders = session.scalars(select(Order)).all()
    for order in orders:
        expire = jobs.get(f"order.expire:{order.id}")
        if order.status == "pending_payment":
            assert expire is not None
            assert expire.run_at == order.payment_deadline
        else:
            assert expire is None or order.payment_deadline > now
        if order.status == "shipped":
            assert order.shipped_at is not None
            auto = jobs[f"order.auto_complete:{order.id}:shipped"]
            assert auto.run_at == order.shipped_at + timedelta(days=10)
        if order.status == "completed" and order.final_at is None:
            assert order.completed_at is not None
            final = jobs[f"order.finalise:{order.id}:completed"]
            assert final.run_at == order.completed_at + timedelta(days=7)
    assert {key.split(":")[0] for key in jobs} >= {"order.auto_complete", "order.finalise"}


def test_order_services_move_demo_orders(
    session: Session, test_settings: Settings, frozen_clock: FrozenClock
) -> None:
    # Three busy days: plenty of orders still unpaid, paid or on their way.
    small_brand(session, test_settings, customers=1500, days=3)

    def first(status: str, fulfilment: str | None = None) -> Order:
        query = select(Order).where(Order.status == status).order_by(Order.id).limit(1)
        if fulfilment is not None:
            query = query.where(Order.fulfilment == fulfilment)
        return session.scalars(query).one()

    shipped = first("shipped")
    lifecycle.confirm_receipt(session, shipped, actor="customer", settings=test_settings)
    assert shipped.status == "completed"
    paid = first("paid", "delivery")
    lifecycle.ship(
        session,
        paid,
        actor="staff:demo_ops",
        carrier="SF",
        tracking_number="SF1",
        settings=test_settings,
    )
    assert paid.status == "shipped"
    pending = first("pending_payment")
    lifecycle.cancel(session, pending, actor="staff:demo_ops", reason="test")
    assert pending.status == "cancelled"
    # The services' own stock moves land on the demo's ledger and levels: still agree.
    assert stock.audit(session) == []
