"""Bargain test helpers: deals made through the service, helpers with identities."""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.bargain import service
from siyu.campaigns.bargain.schemas import DealIn
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.errors import SiyuError
from siyu.customers.identify import IdentityInput
from siyu.models.bargain import Bargain, BargainDeal, BargainHelp
from siyu.models.campaign import Campaign, HelperDailyTally, LifecycleStage
from siyu.models.catalog import Sku
from siyu.models.coupon import Coupon, CouponTemplate
from siyu.models.customer import Customer
from tests.customers.factories import make_customer
from tests.factories import make_staff, principal_of
from tests.members.mall_factories import make_template
from tests.orders.factories import make_shelf

_openids = itertools.count(1)


@dataclass
class Deal:
    campaign: Campaign
    deal: BargainDeal
    sku: Sku
    template: CouponTemplate


def campaign_fields(
    *, name: str = "双十二砍价", started: timedelta = timedelta(hours=1), lasts: timedelta
) -> CampaignFields:
    starts = clock.now() - started
    return CampaignFields(
        name=name,
        touchpoints=["mp"],
        lifecycle_stage=LifecycleStage.ACQUIRE,
        starts_at=starts,
        ends_at=starts + lasts,
    )


def make_deal(
    session: Session,
    *,
    price: int = 12900,
    floor_price: int = 2900,
    expected_helpers: int = 5,
    daily_help_limit: int = 3,
    time_limit_minutes: int = 24 * 60,
    stock: int = 10,
    template_quantity: int | None = None,
    started: timedelta = timedelta(hours=1),
    lasts: timedelta = timedelta(days=3),
    publish: bool = True,
) -> Deal:
    shelf = make_shelf(session, prices=(price,), warehouse_stock=100, store_stock=0)
    template = make_template(session, total_quantity=template_quantity, name="砍价助力券")
    campaign, deal = service.create(
        session,
        principal_of(make_staff(session)),
        DealIn(
            campaign=campaign_fields(started=started, lasts=lasts),
            sku_id=shelf.skus[0].id,
            floor_price=floor_price,
            expected_helpers=expected_helpers,
            daily_help_limit=daily_help_limit,
            time_limit_minutes=time_limit_minutes,
            helper_coupon_template_id=template.id,
            stock=stock,
            publish=publish,
        ),
    )
    return Deal(campaign=campaign, deal=deal, sku=shelf.skus[0], template=template)


def make_helper(
    session: Session, cipher: PiiCipher, *, identified: bool = True, name: str = "李雷"
) -> Customer:
    identities = (
        [IdentityInput("mp_openid", f"o_helper_{next(_openids)}", "wx-app")]
        if identified
        else [IdentityInput("anonymous_id", f"anon-{next(_openids)}")]
    )
    return make_customer(session, cipher, identities=identities, name=name)


@dataclass(frozen=True)
class Snapshot:
    """Everything a refused help or purchase must leave unchanged."""

    bargains: list[tuple[str, int, int, str, int | None]]
    helps: int
    tallies: list[tuple[int, int]]
    coupons: int
    stock_left: list[int]


def snapshot(session: Session) -> Snapshot:
    session.expire_all()
    return Snapshot(
        bargains=[
            (row.public_id, row.current_price, row.helper_count, row.status, row.order_id)
            for row in session.scalars(select(Bargain).order_by(Bargain.id))
        ],
        helps=session.scalar(select(func.count(BargainHelp.id))) or 0,
        tallies=[
            (row.customer_id, row.helps)
            for row in session.scalars(
                select(HelperDailyTally).order_by(HelperDailyTally.customer_id)
            )
        ],
        coupons=session.scalar(select(func.count(Coupon.id))) or 0,
        stock_left=list(session.scalars(select(BargainDeal.stock_left).order_by(BargainDeal.id))),
    )


def race(count: int, attempt: Callable[[int], object]) -> Counter[str]:
    """Run ``attempt(i)`` for i < count in threads released together; count outcomes."""
    barrier = threading.Barrier(count)

    def run(index: int) -> str:
        barrier.wait()
        try:
            attempt(index)
        except SiyuError as error:
            return error.code
        return "ok"

    with ThreadPoolExecutor(max_workers=count) as pool:
        return Counter(pool.map(run, range(count)))
