"""Starting an assist, assisting it, and claiming the unlocked reward.

Concurrency: an assist moves in ONE conditional UPDATE (``assist_count + 1 WHERE
status = 'active' AND assist_count < N AND expires_at > now``, returning the new
count), so racing friends each get a distinct sequence number and exactly one of
them — the N-th — unlocks it. That help, in the same savepoint, takes one reward
(``reward_stock_left - 1 WHERE reward_stock_left >= 1``) and, for a coupon reward,
issues it to the initiator at once. If the last reward went meanwhile the unlocking
help is refused (``assist.sold_out``) and nothing changes; starting is refused once
none are left.

A gift is claimed as a 0-yuan order: the ``campaign_price`` step prices the gift at
0 with free shipping, so the total is 0 and — as for the points mall's points-only
orders — no payment is opened (payments must be > 0): the order is marked paid at
once and fulfilled like any other. Locks are taken in one order: the helper's daily
tally, the assist, the helper's coupon template, the deal's stock, the reward's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from siyu.campaigns import common_orders, helping, pricing
from siyu.campaigns.assist.errors import (
    AlreadyClaimed,
    AlreadyStarted,
    AssistExpired,
    AssistFinished,
    AssistNotFound,
    NotUnlocked,
    SoldOut,
)
from siyu.campaigns.registry import phases
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import rowcount
from siyu.core.settings import Settings
from siyu.coupons import issuing
from siyu.models.bargain import Assist, AssistDeal, AssistHelp, AssistRewardKind, AssistStatus
from siyu.models.base import new_public_id
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.coupon import CouponSource
from siyu.models.order import Order, OrderLine

PAID_WITHOUT_PAYMENT_ACTOR = "assist"
_OPEN = (AssistStatus.ACTIVE.value,)
_DONE = (AssistStatus.UNLOCKED.value, AssistStatus.CLAIMED.value)


def status_of(assist: Assist, at: datetime | None = None) -> str:
    now = at or clock.now()
    if assist.status == AssistStatus.ACTIVE and assist.expires_at <= now:
        return AssistStatus.EXPIRED.value
    return assist.status


def by_public_id(session: Session, public_id: str) -> Assist:
    assist = session.scalars(select(Assist).where(Assist.public_id == public_id)).first()
    if assist is None:
        raise AssistNotFound(data={"assist": public_id})
    return assist


def latest_of(session: Session, deal_id: int, customer_id: int) -> Assist | None:
    """The customer's latest assist on the deal that is not over: active before its
    deadline, unlocked or claimed (what the storefront shows as "my assist")."""
    return helping.latest_of(
        session, Assist, deal_id, customer_id, open_statuses=_OPEN, done_statuses=_DONE
    )


def start(session: Session, campaign: Campaign, deal: AssistDeal, customer_id: int) -> Assist:
    phases.require_live(campaign)
    now = clock.now()
    if deal.reward_stock_left <= 0:
        raise SoldOut(data={"campaign": campaign.public_id})
    with session.begin_nested():
        helping.expire_timed_out(
            session, Assist, deal.id, customer_id, open_statuses=_OPEN, now=now
        )
        assist = Assist(
            public_id=new_public_id("ast"),
            deal_id=deal.id,
            campaign_id=campaign.id,
            customer_id=customer_id,
            required_assists=deal.required_assists,
            assist_count=0,
            status=AssistStatus.ACTIVE.value,
            expires_at=min(now + timedelta(minutes=deal.time_limit_minutes), campaign.ends_at),
            created_at=now,
            updated_at=now,
        )
        helping.insert_or_refuse(
            session, assist, AlreadyStarted(data={"campaign": campaign.public_id})
        )
    return assist


def _refusal(assist: Assist, now: datetime) -> Exception:
    if assist.status in (AssistStatus.UNLOCKED, AssistStatus.CLAIMED):
        return AssistFinished(data={"assist": assist.public_id, "status": assist.status})
    return AssistExpired(
        data={"assist": assist.public_id, "expires_at": assist.expires_at.isoformat()}
    )


@dataclass(frozen=True)
class HelpResult:
    help: AssistHelp
    coupon_code: str
    unlocked: bool


def _unlock(session: Session, assist: Assist, deal: AssistDeal, now: datetime) -> None:
    """The N-th assist: take one reward, and issue it at once when it is a coupon."""
    taken = session.execute(
        update(AssistDeal)
        .where(AssistDeal.id == deal.id, AssistDeal.reward_stock_left >= 1)
        .values(reward_stock_left=AssistDeal.reward_stock_left - 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(taken) != 1:
        raise SoldOut(data={"assist": assist.public_id})
    if deal.reward_kind != AssistRewardKind.COUPON:
        return
    assert deal.reward_coupon_template_id is not None
    coupon = issuing.issue(
        session,
        deal.reward_coupon_template_id,
        assist.customer_id,
        source=CouponSource.AUTO,
        source_ref=f"assist:{assist.public_id}",
        actor="campaign",
        enforce_customer_limits=False,
    )
    session.execute(
        update(Assist)
        .where(Assist.id == assist.id)
        .values(
            reward_coupon_id=coupon.id,
            status=AssistStatus.CLAIMED.value,
            claimed_at=now,
        )
        .execution_options(synchronize_session=False)
    )


def help_assist(session: Session, assist: Assist, helper_id: int) -> HelpResult:
    campaign = session.get(Campaign, assist.campaign_id)
    assert campaign is not None
    phases.require_live(campaign)
    deal = session.get(AssistDeal, assist.deal_id)
    assert deal is not None
    now = clock.now()
    helping.check_helper(
        session, helper_id=helper_id, initiator_id=assist.customer_id, target=assist.public_id
    )
    if status_of(assist, now) != AssistStatus.ACTIVE:
        raise _refusal(assist, now)
    already = session.scalar(
        select(AssistHelp.id).where(
            AssistHelp.assist_id == assist.id, AssistHelp.helper_customer_id == helper_id
        )
    )
    if already is not None:
        raise helping.AlreadyHelped(data={"target": assist.public_id})
    with session.begin_nested():
        helping.take_daily_help(session, helper_id, helping.ASSIST, deal.daily_help_limit)
        unlocks = Assist.assist_count + 1 >= Assist.required_assists
        moved = session.execute(
            update(Assist)
            .where(
                Assist.id == assist.id,
                Assist.status == AssistStatus.ACTIVE.value,
                Assist.assist_count < Assist.required_assists,
                Assist.expires_at > now,
            )
            .values(
                assist_count=Assist.assist_count + 1,
                status=case((unlocks, AssistStatus.UNLOCKED.value), else_=Assist.status),
                unlocked_at=case((unlocks, now), else_=Assist.unlocked_at),
                updated_at=now,
            )
            .returning(Assist.assist_count, Assist.required_assists)
            .execution_options(synchronize_session=False)
        ).first()
        if moved is None:
            session.refresh(assist)
            raise _refusal(assist, now)
        sequence = int(moved.assist_count)
        record = AssistHelp(
            assist_id=assist.id, helper_customer_id=helper_id, sequence=sequence, created_at=now
        )
        helping.insert_or_refuse(
            session, record, helping.AlreadyHelped(data={"target": assist.public_id})
        )
        coupon = helping.give_benefit(
            session, deal.helper_coupon_template_id, helper_id, f"assist:{assist.public_id}"
        )
        record.coupon_id = coupon.id
        session.flush()
        unlocked = sequence >= int(moved.required_assists)
        if unlocked:
            _unlock(session, assist, deal, now)
    session.refresh(assist)
    session.refresh(deal)
    return HelpResult(help=record, coupon_code=coupon.code, unlocked=unlocked)


ClaimRequest = common_orders.OrderRequest


def claim_gift(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    assist: Assist,
    customer_id: int,
    request: ClaimRequest,
) -> Order:
    """The initiator's 0-yuan order for the unlocked gift (live or closing phase)."""
    if assist.customer_id != customer_id:
        raise AssistNotFound(data={"assist": assist.public_id})
    campaign = session.get(Campaign, assist.campaign_id)
    assert campaign is not None
    if phases.phase_of(campaign) not in (phases.Phase.LIVE, phases.Phase.CLOSING):
        phases.require_live(campaign)
    deal = session.get(AssistDeal, assist.deal_id)
    assert deal is not None
    if assist.status == AssistStatus.CLAIMED:
        raise AlreadyClaimed(data={"assist": assist.public_id})
    if deal.reward_kind != AssistRewardKind.GIFT or assist.status != AssistStatus.UNLOCKED:
        raise NotUnlocked(data={"assist": assist.public_id, "status": status_of(assist)})
    assert deal.gift_sku_id is not None
    now = clock.now()
    with session.begin_nested():
        # The flip decides racing claims: one wins, the others find it claimed.
        flipped = session.execute(
            update(Assist)
            .where(Assist.id == assist.id, Assist.status == AssistStatus.UNLOCKED.value)
            .values(status=AssistStatus.CLAIMED.value, claimed_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if rowcount(flipped) != 1:
            raise AlreadyClaimed(data={"assist": assist.public_id})
        order = common_orders.place_one_item(
            session,
            cipher,
            settings,
            customer_id,
            option=pricing.CampaignOption(
                kind=CampaignKind.ASSIST,
                campaign_id=campaign.id,
                reference_id=assist.id,
                unit_prices={deal.gift_sku_id: 0},
                free_shipping=True,
            ),
            sku_id=deal.gift_sku_id,
            request=request,
            paid_actor=PAID_WITHOUT_PAYMENT_ACTOR,
        )
    session.refresh(assist)
    return order


def on_placed(
    session: Session, order: Order, _lines: list[OrderLine], option: pricing.CampaignOption
) -> None:
    """The placement hook: the order must be the initiator's just-claimed gift."""
    helping.attach_order(session, Assist, order, option, ordered_status=AssistStatus.CLAIMED.value)


def helps_of(session: Session, assist_id: int) -> list[AssistHelp]:
    return list(
        session.scalars(
            select(AssistHelp)
            .where(AssistHelp.assist_id == assist_id)
            .order_by(AssistHelp.sequence)
        )
    )


def list_for_campaign(session: Session, campaign_id: int, *, limit: int = 100) -> list[Assist]:
    return helping.list_for_campaign(session, Assist, campaign_id, limit=limit)
