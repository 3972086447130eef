"""The demo brand's flash sales: last week's 20:00 session, sold out with paid orders,
and a session live now with its first reservations and orders.

Everything goes through the flash sale's services (``service.create``, the database
engine's ``reserve_in_database``, ``orders.place_orders``) and the sandbox payment,
with the frozen clock moved to each moment. The demo sessions use the database
engine whatever ``SIYU_REDIS_URL`` says: the demo's data must not depend on a
Redis that may be empty on the next start.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.flash_sale import engines, orders, service
from siyu.campaigns.flash_sale.schemas import FlashSaleIn, ItemIn, SessionIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.catalog import prices as catalog_prices
from siyu.core.errors import SiyuError
from siyu.demo.campaigns.common import stocked_skus
from siyu.demo.offers.context import DEMO_ADDRESS, Context, pick
from siyu.demo.offers.payments import pay
from siyu.models.base import new_public_id
from siyu.models.campaign import Campaign, LifecycleStage
from siyu.models.catalog import SalesChannel
from siyu.models.customer import Customer, CustomerStatus
from siyu.models.flash_sale import FlashSaleReservation, ReservationStatus
from siyu.models.order import Order

ENDED_STOCK = (20, 10)
LIVE_STOCK = (60, 30)
LIVE_BUYERS = 12


def _sellable(session: Session) -> list[int]:
    """Mall SKUs with warehouse stock to spare (the orders still reserve it)."""
    return stocked_skus(session, 2, minimum=100)


def _create(
    session: Session, ctx: Context, name: str, starts: datetime, hours: int, stock: tuple[int, ...]
) -> Campaign:
    skus = _sellable(session)
    sellable = catalog_prices.sellable_skus(session, skus, channel=SalesChannel.MALL)
    ends = starts + timedelta(hours=hours)
    return service.create(
        session,
        ctx.actor,
        FlashSaleIn(
            campaign=CampaignFields(
                name=name,
                description="限时限量，每人限购 1 件，抢完即止。",
                lifecycle_stage=LifecycleStage.CONVERT,
                touchpoints=["mp", "wecom"],
                warmup_at=starts - timedelta(hours=2),
                starts_at=starts,
                ends_at=ends,
            ),
            sessions=[
                SessionIn(
                    name=f"{starts.astimezone(ctx.settings.tzinfo):%H:%M} 场",
                    starts_at=starts,
                    ends_at=ends,
                    items=[
                        ItemIn(
                            sku_id=sku_id,
                            # About 40 % off, to the yuan.
                            campaign_price=max(100, sellable[sku_id].unit_price * 6 // 1000 * 100),
                            starting_stock=units,
                            per_customer_limit=1,
                        )
                        for sku_id, units in zip(skus, stock, strict=False)
                    ],
                )
            ],
            publish=True,
        ),
        redis_url=None,
    )


def _buy(session: Session, ctx: Context, campaign: Campaign, buyers: int, paid_share: float) -> int:
    """``buyers`` customers click every item; returns the orders paid."""
    row = service.sessions_of(session, [campaign.id])[0]
    items = service.items_of(session, [row.id])
    address = orders.encrypt_address(ctx.cipher, dict(DEMO_ADDRESS))
    for _ in range(buyers):
        customer_id = pick(
            session, ctx.rng, Customer.id, Customer.id, Customer.status == CustomerStatus.ACTIVE
        )
        if customer_id is None:
            break
        ctx.clock.advance(timedelta(seconds=ctx.rng.uniform(0.2, 20)))
        for item in items:
            request = engines.ReserveRequest(
                public_id=new_public_id("fsr"),
                campaign_id=campaign.id,
                session_id=row.id,
                item_id=item.id,
                customer_id=customer_id,
                quantity=1,
                unit_price=item.campaign_price,
                per_customer_limit=item.per_customer_limit,
                engine=row.stock_engine or "database",
                touchpoint="mp",
            )
            try:
                with session.begin_nested():
                    engines.reserve_in_database(
                        session,
                        replace(
                            request,
                            address_encrypted=address,
                            reserved_at=ctx.clock.now().isoformat(),
                        ),
                    )
            except SiyuError:
                continue
    while sum(orders.place_orders(session, ctx.cipher, ctx.settings, limit=100)):
        pass
    paid = 0
    ordered = session.scalars(
        select(Order)
        .join(FlashSaleReservation, FlashSaleReservation.order_id == Order.id)
        .where(
            FlashSaleReservation.session_id == row.id,
            FlashSaleReservation.status == ReservationStatus.ORDERED,
        )
        .order_by(Order.id)
    ).all()
    for order in ordered:
        if ctx.rng.random() < paid_share:
            # Buyers pay within minutes of their order (well inside its deadline).
            ctx.clock.set(order.created_at + timedelta(seconds=ctx.rng.uniform(10, 300)))
            pay(session, ctx, order)
            # The order.paid handler does this too (idempotently) when the outbox runs.
            orders.release(session, order.id, to=ReservationStatus.PAID)
            paid += 1
    return paid


def build(factory: sessionmaker[Session], ctx: Context) -> dict[str, int]:
    counts = {"campaigns": 0, "reservations": 0, "paid": 0}
    with factory() as session, session.begin():
        if len(_sellable(session)) == 0:
            return counts
    local_now = ctx.now.astimezone(ctx.settings.tzinfo)
    last_week = (local_now - timedelta(days=7)).replace(hour=20, minute=0, second=0, microsecond=0)
    with factory() as session, session.begin():
        ctx.clock.set(last_week - timedelta(days=1))
        ended = _create(session, ctx, "上周五 20:00 秒杀", last_week, 2, ENDED_STOCK)
        ctx.clock.set(last_week + timedelta(seconds=1))
        # More buyers than units: it sells out in the first minutes.
        counts["paid"] += _buy(session, ctx, ended, sum(ENDED_STOCK) + 15, 1.0)
        counts["campaigns"] += 1
    with factory() as session, session.begin():
        ctx.clock.set(ctx.now - timedelta(hours=1))
        live = _create(session, ctx, "今日限时秒杀", ctx.now - timedelta(minutes=30), 3, LIVE_STOCK)
        ctx.clock.set(ctx.now - timedelta(minutes=25))
        counts["paid"] += _buy(session, ctx, live, LIVE_BUYERS, 0.6)
        counts["campaigns"] += 1
        counts["reservations"] = len(session.scalars(select(FlashSaleReservation.id)).all())
    ctx.clock.set(ctx.now)
    return counts
