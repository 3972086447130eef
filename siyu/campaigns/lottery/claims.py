"""Claiming a goods prize: the winner confirms an address and gets a 0-yuan order.

The claim is taken with one conditional UPDATE (``claim_status = 'claimed' WHERE
claim_status = 'pending'``), so two racing confirmations place one order. The order is
an ordinary mall order through ``checkout.place_order`` with a ``CampaignOption``
pricing the prize's SKU at 0 with free shipping; the ``campaign_price`` placement
hook calls :func:`on_placed`, which links the order to the draw in the order's
transaction. Nothing is due, so the order is marked paid at once (no payment can be
opened for 0) and ships like any other. If the order cannot be placed (the SKU is off
sale, out of stock), the savepoint undoes the claim: the prize stays claimable.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.campaigns import common_orders, pricing
from siyu.campaigns.lottery.errors import ClaimExpired, DrawNotFound, NotClaimable
from siyu.core import clock
from siyu.core.crypto import PiiCipher
from siyu.core.db import rowcount
from siyu.core.settings import Settings
from siyu.models.campaign import CampaignKind
from siyu.models.lottery import ClaimStatus, DrawOutcome, LotteryDraw, LotteryPrize, PrizeKind
from siyu.models.order import Order, OrderLine

PAID_BY_PRIZE_ACTOR = "lottery"


def draw_of(session: Session, customer_id: int, public_id: str) -> LotteryDraw:
    """The customer's own draw; another customer's is "not found", never "forbidden"."""
    row = session.scalars(select(LotteryDraw).where(LotteryDraw.public_id == public_id)).first()
    if row is None or row.customer_id != customer_id:
        raise DrawNotFound(data={"draw": public_id})
    return row


def claim(
    session: Session,
    cipher: PiiCipher,
    settings: Settings,
    customer_id: int,
    public_id: str,
    *,
    address: dict[str, str],
    note: str = "",
    touchpoint: str | None = None,
) -> tuple[LotteryDraw, Order]:
    row = draw_of(session, customer_id, public_id)
    if row.outcome != DrawOutcome.WON or row.kind != PrizeKind.GOODS or row.prize_id is None:
        raise NotClaimable(data={"draw": public_id, "kind": row.kind})
    if row.claim_status != ClaimStatus.PENDING:
        raise NotClaimable(data={"draw": public_id, "claim_status": row.claim_status})
    if row.claim_deadline is not None and clock.now() >= row.claim_deadline:
        raise ClaimExpired(data={"draw": public_id, "deadline": row.claim_deadline.isoformat()})
    prize = session.get(LotteryPrize, row.prize_id)
    assert prize is not None
    assert prize.sku_id is not None
    with session.begin_nested():
        taken = session.execute(
            update(LotteryDraw)
            .where(LotteryDraw.id == row.id, LotteryDraw.claim_status == ClaimStatus.PENDING)
            .values(claim_status=ClaimStatus.CLAIMED.value)
            .execution_options(synchronize_session=False)
        )
        if rowcount(taken) != 1:
            raise NotClaimable(data={"draw": public_id, "claim_status": ClaimStatus.CLAIMED})
        session.expire(row, ["claim_status"])
        order = common_orders.place_one_item(
            session,
            cipher,
            settings,
            customer_id,
            option=pricing.CampaignOption(
                kind=CampaignKind.LOTTERY,
                campaign_id=row.campaign_id,
                reference_id=row.id,
                unit_prices={prize.sku_id: 0},
                free_shipping=True,
            ),
            sku_id=prize.sku_id,
            request=common_orders.OrderRequest(address=address, touchpoint=touchpoint),
            note=note,
            paid_actor=PAID_BY_PRIZE_ACTOR,
        )
        session.flush()
    return row, order


def on_placed(
    session: Session, order: Order, lines: list[OrderLine], option: pricing.CampaignOption
) -> None:
    """The ``campaign_price`` hook, in the order's transaction: the order must be this
    claim's and hold exactly the prize; raising rolls the order back."""
    row = session.get(LotteryDraw, option.reference_id)
    prize = session.get(LotteryPrize, row.prize_id) if row and row.prize_id else None
    if (
        row is None
        or prize is None
        or row.customer_id != order.customer_id
        or row.campaign_id != option.campaign_id
        or row.order_id is not None
        or [(line.sku_id, line.quantity) for line in lines] != [(prize.sku_id, 1)]
    ):
        raise pricing.InvalidCampaignOrder(data={"reference_id": option.reference_id})
    session.refresh(row, ["claim_status"])
    if row.claim_status != ClaimStatus.CLAIMED:
        raise pricing.InvalidCampaignOrder(data={"reference_id": option.reference_id})
    row.order_id = order.id
    session.flush()
