"""Starting, helping and buying a bargain, and what order events do to it.

Concurrency (issue 6: "a bargain never crosses the floor"):

- A help moves the bargain in ONE conditional UPDATE: ``helper_count + 1`` and
  ``current_price = CASE helper_count WHEN 0 THEN p1 WHEN 1 THEN p2 … END`` (the prices
  after each planned cut), ``WHERE status = 'active' AND helper_count < K AND
  expires_at > now``, returning the new count and price. Racing helps queue on the
  row lock (PostgreSQL re-checks the WHERE after the first commits; SQLite writers
  are serialised by ``BEGIN IMMEDIATE``), so each gets a distinct sequence number,
  the price follows the plan exactly and the K-th help lands on the floor; a
  (K+1)-th finds no row. A read-compute-write would let two helpers both cut from
  the same price, or cut past the floor.
- Buying first flips the bargain to ``ordered`` by a conditional UPDATE that also
  copies ``current_price`` into ``ordered_price``; the order is placed at that price.
  A help racing the purchase either lands before the flip (and the buyer pays the
  lower price) or is refused after it.
- Stock is one conditional UPDATE ``stock_left - 1 WHERE stock_left >= 1``.

Every step runs in a savepoint: a refusal leaves nothing changed. Locks are taken
in one order — the helper's daily tally, the bargain, the coupon template — so two
helps never lock crosswise.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from siyu.campaigns import common_orders, helping, pricing
from siyu.campaigns.bargain import cuts
from siyu.campaigns.bargain.errors import (
    AlreadyOrdered,
    AlreadyStarted,
    BargainExpired,
    BargainFinished,
    BargainNotFound,
    NotYours,
    SoldOut,
)
from siyu.campaigns.registry import phases
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import rowcount
from siyu.core.settings import Settings
from siyu.models.bargain import Bargain, BargainDeal, BargainHelp, BargainStatus
from siyu.models.base import new_public_id
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.order import Order, OrderLine

PAID_WITHOUT_PAYMENT_ACTOR = "bargain"
_OPEN = (BargainStatus.ACTIVE.value, BargainStatus.REACHED.value)
_DONE = (BargainStatus.ORDERED.value, BargainStatus.PURCHASED.value)


def status_of(bargain: Bargain, at: datetime | None = None) -> str:
    """The stored status, with an open bargain past its deadline shown as expired."""
    now = at or clock.now()
    if bargain.status in _OPEN and bargain.expires_at <= now:
        return BargainStatus.EXPIRED.value
    return bargain.status


def by_public_id(session: Session, public_id: str) -> Bargain:
    bargain = session.scalars(select(Bargain).where(Bargain.public_id == public_id)).first()
    if bargain is None:
        raise BargainNotFound(data={"bargain": public_id})
    return bargain


def plan_of(bargain: Bargain) -> list[int]:
    return cuts.plan(
        bargain.seed, bargain.start_price - bargain.floor_price, bargain.expected_helpers
    )


def latest_of(session: Session, deal_id: int, customer_id: int) -> Bargain | None:
    """The customer's latest bargain on the deal that is not over: open before its
    deadline, ordered or purchased (what the storefront shows as "my bargain")."""
    return helping.latest_of(
        session, Bargain, deal_id, customer_id, open_statuses=_OPEN, done_statuses=_DONE
    )


def start(session: Session, campaign: Campaign, deal: BargainDeal, customer_id: int) -> Bargain:
    """The initiator's new bargain at the deal's start price, with a fresh seed."""
    phases.require_live(campaign)
    now = clock.now()
    if deal.stock_left <= 0:
        raise SoldOut(data={"campaign": campaign.public_id})
    with session.begin_nested():
        helping.expire_timed_out(
            session, Bargain, deal.id, customer_id, open_statuses=_OPEN, now=now
        )
        bargain = Bargain(
            public_id=new_public_id("brg"),
            deal_id=deal.id,
            campaign_id=campaign.id,
            customer_id=customer_id,
            seed=cuts.new_seed(),
            start_price=deal.start_price,
            floor_price=deal.floor_price,
            expected_helpers=deal.expected_helpers,
            current_price=deal.start_price,
            helper_count=0,
            status=BargainStatus.ACTIVE.value,
            expires_at=min(now + timedelta(minutes=deal.time_limit_minutes), campaign.ends_at),
            created_at=now,
            updated_at=now,
        )
        # The partial unique index decides racing starts: insert or refuse.
        helping.insert_or_refuse(
            session, bargain, AlreadyStarted(data={"campaign": campaign.public_id})
        )
    return bargain


def _refusal(bargain: Bargain, now: datetime) -> Exception:
    """Why an open-bargain UPDATE found no row (after a refresh)."""
    if bargain.status in (BargainStatus.ORDERED, BargainStatus.PURCHASED):
        return AlreadyOrdered(data={"bargain": bargain.public_id})
    if bargain.status == BargainStatus.EXPIRED or bargain.expires_at <= now:
        return BargainExpired(
            data={"bargain": bargain.public_id, "expires_at": bargain.expires_at.isoformat()}
        )
    return BargainFinished(data={"bargain": bargain.public_id, "status": bargain.status})


@dataclass(frozen=True)
class HelpResult:
    help: BargainHelp
    coupon_code: str


def help_bargain(session: Session, bargain: Bargain, helper_id: int) -> HelpResult:
    """One cut by ``helper_id``; their follow-up coupon in the same transaction."""
    campaign = session.get(Campaign, bargain.campaign_id)
    assert campaign is not None
    phases.require_live(campaign)
    deal = session.get(BargainDeal, bargain.deal_id)
    assert deal is not None
    now = clock.now()
    helping.check_helper(
        session, helper_id=helper_id, initiator_id=bargain.customer_id, target=bargain.public_id
    )
    if status_of(bargain, now) != BargainStatus.ACTIVE:
        raise _refusal(bargain, now)
    already = session.scalar(
        select(BargainHelp.id).where(
            BargainHelp.bargain_id == bargain.id, BargainHelp.helper_customer_id == helper_id
        )
    )
    if already is not None:
        raise helping.AlreadyHelped(data={"target": bargain.public_id})
    plan = plan_of(bargain)
    after = cuts.prices_after(bargain.start_price, plan)
    with session.begin_nested():
        helping.take_daily_help(session, helper_id, helping.BARGAIN, deal.daily_help_limit)
        reaches_floor = Bargain.helper_count + 1 >= Bargain.expected_helpers
        moved = session.execute(
            update(Bargain)
            .where(
                Bargain.id == bargain.id,
                Bargain.status == BargainStatus.ACTIVE.value,
                Bargain.helper_count < Bargain.expected_helpers,
                Bargain.expires_at > now,
            )
            .values(
                helper_count=Bargain.helper_count + 1,
                current_price=case(
                    dict(enumerate(after)), value=Bargain.helper_count, else_=bargain.floor_price
                ),
                status=case((reaches_floor, BargainStatus.REACHED.value), else_=Bargain.status),
                reached_at=case((reaches_floor, now), else_=Bargain.reached_at),
                updated_at=now,
            )
            .returning(Bargain.helper_count, Bargain.current_price)
            .execution_options(synchronize_session=False)
        ).first()
        if moved is None:
            session.refresh(bargain)
            raise _refusal(bargain, now)
        sequence = int(moved.helper_count)
        record = BargainHelp(
            bargain_id=bargain.id,
            helper_customer_id=helper_id,
            sequence=sequence,
            cut_amount=plan[sequence - 1],
            price_after=int(moved.current_price),
            created_at=now,
        )
        # The same helper racing themselves past the pre-check meets the unique key.
        helping.insert_or_refuse(
            session, record, helping.AlreadyHelped(data={"target": bargain.public_id})
        )
        coupon = helping.give_benefit(
            session, deal.helper_coupon_template_id, helper_id, f"bargain:{bargain.public_id}"
        )
        record.coupon_id = coupon.id
        session.flush()
    session.refresh(bargain)
    return HelpResult(help=record, coupon_code=coupon.code)


BuyRequest = common_orders.OrderRequest


def buy(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    bargain: Bargain,
    customer_id: int,
    request: BuyRequest,
) -> Order:
    """The initiator's order at the current price (the floor once reached), before the
    deadline. Paid at once when nothing is due (a 0-yuan floor)."""
    if bargain.customer_id != customer_id:
        raise NotYours(data={"bargain": bargain.public_id})
    campaign = session.get(Campaign, bargain.campaign_id)
    assert campaign is not None
    phases.require_live(campaign)
    deal = session.get(BargainDeal, bargain.deal_id)
    assert deal is not None
    now = clock.now()
    with session.begin_nested():
        frozen = session.execute(
            update(Bargain)
            .where(
                Bargain.id == bargain.id,
                Bargain.status.in_(_OPEN),
                Bargain.expires_at > now,
            )
            .values(
                status=BargainStatus.ORDERED.value,
                ordered_price=Bargain.current_price,
                updated_at=now,
            )
            .returning(Bargain.current_price)
            .execution_options(synchronize_session=False)
        ).first()
        if frozen is None:
            session.refresh(bargain)
            raise _refusal(bargain, now)
        price = int(frozen.current_price)
        taken = session.execute(
            update(BargainDeal)
            .where(BargainDeal.id == deal.id, BargainDeal.stock_left >= 1)
            .values(stock_left=BargainDeal.stock_left - 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(taken) != 1:
            raise SoldOut(data={"campaign": campaign.public_id})
        # Paid at once when nothing is due (a 0-yuan floor): payments must be > 0.
        order = common_orders.place_one_item(
            session,
            cipher,
            settings,
            customer_id,
            option=pricing.CampaignOption(
                kind=CampaignKind.BARGAIN,
                campaign_id=campaign.id,
                reference_id=bargain.id,
                unit_prices={deal.sku_id: price},
                # 砍到 0 元免费拿: a free item ships free too.
                free_shipping=price == 0,
            ),
            sku_id=deal.sku_id,
            request=request,
            paid_actor=PAID_WITHOUT_PAYMENT_ACTOR,
        )
    session.refresh(bargain)
    session.refresh(deal)
    return order


def on_placed(
    session: Session, order: Order, _lines: list[OrderLine], option: pricing.CampaignOption
) -> None:
    """The placement hook: the order must belong to the initiator's frozen bargain."""
    helping.attach_order(
        session, Bargain, order, option, ordered_status=BargainStatus.ORDERED.value
    )


def mark_purchased(session: Session, order_id: int, at: datetime) -> bool:
    """``order.paid``: idempotent (only an ``ordered`` bargain moves)."""
    moved = session.execute(
        update(Bargain)
        .where(Bargain.order_id == order_id, Bargain.status == BargainStatus.ORDERED.value)
        .values(status=BargainStatus.PURCHASED.value, purchased_at=at, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    return rowcount(moved) == 1


def release_order(session: Session, order_id: int) -> bool:
    """``order.cancelled`` (unpaid): the bargain reopens at its price and the unit
    returns to the deal's stock — once, however often the event is delivered."""
    bargain = session.scalars(
        select(Bargain).where(
            Bargain.order_id == order_id, Bargain.status == BargainStatus.ORDERED.value
        )
    ).first()
    if bargain is None:
        return False
    reopened = session.execute(
        update(Bargain)
        .where(Bargain.id == bargain.id, Bargain.status == BargainStatus.ORDERED.value)
        .values(
            status=case(
                (Bargain.helper_count >= Bargain.expected_helpers, BargainStatus.REACHED.value),
                else_=BargainStatus.ACTIVE.value,
            ),
            order_id=None,
            ordered_price=None,
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(reopened) != 1:
        return False
    session.execute(
        update(BargainDeal)
        .where(
            BargainDeal.id == bargain.deal_id, BargainDeal.stock_left + 1 <= BargainDeal.stock_total
        )
        .values(stock_left=BargainDeal.stock_left + 1)
        .execution_options(synchronize_session=False)
    )
    return True


def helps_of(session: Session, bargain_id: int) -> list[BargainHelp]:
    return list(
        session.scalars(
            select(BargainHelp)
            .where(BargainHelp.bargain_id == bargain_id)
            .order_by(BargainHelp.sequence)
        )
    )


def has_helped(session: Session, bargain_id: int, customer_id: int) -> bool:
    return (
        session.scalar(
            select(BargainHelp.id).where(
                BargainHelp.bargain_id == bargain_id, BargainHelp.helper_customer_id == customer_id
            )
        )
        is not None
    )


def list_for_campaign(session: Session, campaign_id: int, *, limit: int = 100) -> list[Bargain]:
    return helping.list_for_campaign(session, Bargain, campaign_id, limit=limit)
