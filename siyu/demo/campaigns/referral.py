"""The demo brand's referral programme (分销): an ended programme (two months ago)
whose commissions were settled after the return window — one order partly refunded,
its commission reversed — with a paid withdrawal, and a live programme with frozen
commissions on recent orders and a withdrawal waiting for review.

Promoters are customers who applied (one invited by another: level 2) and a guide
enrolled by an operator. Everything goes through the referral services: binding by
share code, orders through checkout (the ``referral.attribute`` hook attributes them),
payments through the sandbox's signed notices, refunds through the refunds service,
the return window through ``lifecycle.finalise``. The referral handlers run inline;
the dispatcher delivering the same events later finds the work done (idempotent).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.referral import binding, commissions, programme, promoters, withdrawals
from siyu.campaigns.referral.schemas import ApplyIn, ProgrammeIn, ProgrammeSettings, RuleIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core.errors import SiyuError
from siyu.demo.campaigns.common import random_customer, stocked_skus
from siyu.demo.offers.context import DEMO_ADDRESS, Context
from siyu.demo.offers.payments import pay
from siyu.models.campaign import LifecycleStage
from siyu.models.order import Order
from siyu.models.referral import Promoter
from siyu.models.staff import Role, StaffRole
from siyu.orders import checkout, events, lifecycle, refunds

ENDED_ORDERS = 8
LIVE_ORDERS = 6


def _create(ctx: Context, session: Session, *, name: str, starts: datetime, ends: datetime) -> int:
    body = ProgrammeIn(
        campaign=CampaignFields(
            name=name,
            description="顾客和导购分享链接，好友下单得佣金；退货期结束后结算，可申请提现。",
            touchpoints=["mp", "wecom", "moments"],
            lifecycle_stage=LifecycleStage.REFER,
            budget_amount=5_000_000,
            starts_at=starts,
            ends_at=ends,
        ),
        settings=ProgrammeSettings(auto_approve=True, bind_days=15, min_withdrawal_amount=100),
        default_rule=RuleIn(level1_value=800, level2_value=200),
        publish=True,
    )
    return programme.create(session, ctx.actor, body).id


def _promoters(session: Session, ctx: Context, taken: set[int]) -> list[int]:
    """Three customers who applied (the third invited by the first) and a guide."""
    made: list[Promoter] = []
    names = ("小美推荐官", "阿杰的好物", "Lily 种草")
    for index, name in enumerate(names):
        customer_id = random_customer(session, ctx, taken, tries=12)
        if customer_id is None:
            continue
        invite = made[0].code if index == 2 and made else None
        made.append(
            promoters.apply(session, customer_id, ApplyIn(display_name=name, invite_code=invite))
        )
    guide_id = session.scalar(
        select(StaffRole.staff_id).where(StaffRole.role == Role.GUIDE.value).limit(1)
    )
    if guide_id is not None and promoters.of_staff(session, guide_id) is None:
        made.append(promoters.enrol_guide(session, ctx.actor, guide_id))
    return [promoter.id for promoter in made]


def _orders(
    factory: sessionmaker[Session],
    ctx: Context,
    promoter_ids: list[int],
    taken: set[int],
    count: int,
) -> list[int]:
    """``count`` buyers bound by a promoter's link, each paying one order."""
    placed: list[int] = []
    for index in range(count):
        ctx.clock.advance(timedelta(hours=ctx.rng.randint(2, 12)))
        with factory() as session, session.begin():
            skus = stocked_skus(session, 6, minimum=10)
            buyer = random_customer(session, ctx, taken, tries=12)
            promoter = session.get(Promoter, promoter_ids[index % len(promoter_ids)])
            if not skus or buyer is None or promoter is None:
                continue
            try:
                with session.begin_nested():
                    binding.bind(session, buyer, promoter.code)
                    order, lines = checkout.place_order(
                        session,
                        ctx.cipher,
                        buyer,
                        checkout.CheckoutInput(
                            items=[checkout.ItemInput(ctx.rng.choice(skus), ctx.rng.randint(1, 2))],
                            address=dict(DEMO_ADDRESS),
                            attribution=checkout.Attribution(touchpoint="mp"),
                        ),
                        ctx.settings,
                    )
                    pay(session, ctx, order)
                    session.refresh(order)
                    commissions.on_paid(session, events.order_payload(order, lines))
            except SiyuError:
                continue  # out of stock for that SKU: no order
            placed.append(order.id)
    return placed


def _finish(factory: sessionmaker[Session], ctx: Context, order_ids: list[int]) -> int:
    """Ship and receive every order, refund one unit of the first, then let the
    return window pass and settle (what the settle job does)."""
    with factory() as session, session.begin():
        for index, order_id in enumerate(order_ids):
            order = session.get(Order, order_id)
            assert order is not None
            lifecycle.ship(
                session,
                order,
                actor="demo",
                carrier="SF",
                tracking_number=f"SF{order_id:010d}",
                settings=ctx.settings,
            )
            lifecycle.confirm_receipt(session, order, actor="customer", settings=ctx.settings)
            if index == 0:
                _refund_first_line(session, ctx, order)  # an after-sale return
    ctx.clock.advance(timedelta(days=ctx.settings.order_return_window_days + 1))
    settled = 0
    with factory() as session, session.begin():
        for order_id in order_ids:
            order = session.get(Order, order_id)
            assert order is not None
            lifecycle.finalise(session, order, actor="demo")
            settled += commissions.settle_order(session, order_id)
    return settled


def _refund_first_line(session: Session, ctx: Context, order: Order) -> None:
    lines = lifecycle.lines_of(session, order)
    request = refunds.request_refund(
        session,
        order,
        items=[refunds.RefundItem(lines[0].line_no, 1)],
        reason="尺码不合适",
        requested_by="customer",
    )
    refunds.approve(session, request, actor="demo")
    submission = refunds.prepare_submission(session, request.id)
    if submission is None:
        return
    refunds.record_submission(session, submission, ctx.sandbox.refund(submission.request))
    session.refresh(order)
    commissions.on_refunded(
        session,
        {
            "refund_id": request.id,
            "refund_lines": [{"line_id": lines[0].id, "quantity": 1, "amount": request.amount}],
        },
    )


def _withdraw(
    factory: sessionmaker[Session], ctx: Context, promoter_ids: list[int], *, paid: bool
) -> int:
    """Half the withdrawable balance of the richest promoter; paid or left pending."""
    with factory() as session, session.begin():
        promoter = session.scalars(
            select(Promoter)
            .where(Promoter.id.in_(promoter_ids))
            .order_by(Promoter.withdrawable_amount.desc(), Promoter.id)
            .limit(1)
        ).first()
        if promoter is None or promoter.withdrawable_amount < 200:
            return 0
        withdrawal = withdrawals.request(session, promoter, promoter.withdrawable_amount // 2)
        if paid:
            ctx.clock.advance(timedelta(hours=3))
            withdrawals.approve(session, ctx.actor, withdrawal)
            withdrawals.pay(
                session, ctx.actor, withdrawal, payout_reference=f"DEMO{withdrawal.id:08d}"
            )
        return 1


def build(factory: sessionmaker[Session], ctx: Context) -> dict[str, int]:
    past_start = ctx.now - timedelta(days=60)
    ctx.clock.set(past_start)
    taken: set[int] = set()
    with factory() as session, session.begin():
        _create(
            ctx,
            session,
            name="秋季全民分销",
            starts=past_start,
            ends=past_start + timedelta(days=30),
        )
        promoter_ids = _promoters(session, ctx, taken)
    ctx.clock.advance(timedelta(hours=1))
    ended_orders = _orders(factory, ctx, promoter_ids, taken, ENDED_ORDERS)
    settled = _finish(factory, ctx, ended_orders)
    paid = _withdraw(factory, ctx, promoter_ids, paid=True)

    live_start = ctx.now - timedelta(days=5)
    ctx.clock.set(live_start)
    with factory() as session, session.begin():
        _create(
            ctx, session, name="冬季分销季", starts=live_start, ends=ctx.now + timedelta(days=60)
        )
    live_orders = _orders(factory, ctx, promoter_ids, taken, LIVE_ORDERS)
    ctx.clock.set(ctx.now - timedelta(hours=2))
    pending = _withdraw(factory, ctx, promoter_ids, paid=False)
    ctx.clock.set(ctx.now)
    return {
        "campaigns": 2,
        "promoters": len(promoter_ids),
        "attributed_orders": len(ended_orders) + len(live_orders),
        "settled_amount": settled,
        "withdrawals_paid": paid,
        "withdrawals_pending": pending,
    }
