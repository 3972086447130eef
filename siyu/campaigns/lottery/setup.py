"""Creating and changing lotteries: the rules, the prize table and its stock.

A lottery is created in one transaction with its registry row
(``registry.service.create``), so it never exists without its campaign. The prize
table (odds, kinds, rewards) is fixed once the campaign goes live: draws record the
table's version and a SHA-256 of its canonical JSON, and an auditor replays a draw's
random value against exactly that table. Stock may still be added while it runs
(restock does not change the odds, so neither version nor hash moves).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.campaigns.lottery.errors import (
    InvalidLottery,
    LotteryNotFound,
    PrizeNotFound,
    PrizeTableLocked,
)
from siyu.campaigns.lottery.schemas import LotteryIn, LotteryUpdate, PrizeIn
from siyu.campaigns.registry import phases
from siyu.campaigns.registry import service as registry
from siyu.campaigns.registry.errors import CampaignStateConflict
from siyu.core import clock
from siyu.core.db import rowcount
from siyu.members import program
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.catalog import Sku
from siyu.models.coupon import CouponTemplate
from siyu.models.lottery import PROBABILITY_SCALE, Lottery, LotteryPrize, PrizeKind
from siyu.staff import audit
from siyu.staff.principal import Principal

AUDIT_TARGET = "campaign"
# Phases in which odds and prizes may still change: nobody has drawn yet.
_TABLE_EDITABLE = (phases.Phase.DRAFT, phases.Phase.SCHEDULED, phases.Phase.WARM_UP)


def lottery_of(session: Session, campaign: Campaign) -> Lottery:
    lottery = session.scalars(select(Lottery).where(Lottery.campaign_id == campaign.id)).first()
    if lottery is None:
        raise LotteryNotFound(data={"campaign": campaign.public_id})
    return lottery


def find(session: Session, public_id: str) -> tuple[Campaign, Lottery]:
    """Any lottery by its campaign's public id, whatever its phase (operators)."""
    campaign = session.scalars(
        select(Campaign).where(
            Campaign.public_id == public_id, Campaign.kind == CampaignKind.LOTTERY.value
        )
    ).first()
    if campaign is None:
        raise LotteryNotFound(data={"campaign": public_id})
    return campaign, lottery_of(session, campaign)


def prizes_of(session: Session, lottery_id: int) -> list[LotteryPrize]:
    return list(
        session.scalars(
            select(LotteryPrize)
            .where(LotteryPrize.lottery_id == lottery_id)
            .order_by(LotteryPrize.position)
            # Stock moves by Core UPDATEs; never show a stale count.
            .execution_options(populate_existing=True)
        )
    )


def table_hash(prizes: Sequence[LotteryPrize]) -> str:
    """SHA-256 of the table's canonical JSON: what decides a draw, nothing that moves
    while it runs (stock)."""
    document = [
        {
            "id": prize.id,
            "position": prize.position,
            "name": prize.name,
            "kind": prize.kind,
            "probability": prize.probability,
            "coupon_template_id": prize.coupon_template_id,
            "points_amount": prize.points_amount,
            "sku_id": prize.sku_id,
            "value_amount": prize.value_amount,
        }
        for prize in sorted(prizes, key=lambda row: row.position)
    ]
    canonical = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def thanks_probability(prizes: Sequence[LotteryPrize]) -> int:
    """What lands on "thanks": the unassigned remainder plus explicit thanks slots."""
    assigned = sum(prize.probability for prize in prizes if prize.kind != PrizeKind.THANKS)
    return PROBABILITY_SCALE - assigned


def _value_of(session: Session, body: PrizeIn, index: int) -> int:
    """Check the prize's reward exists and return what one unit costs the brand."""
    field = f"prizes.{index}"
    if body.kind == PrizeKind.THANKS:
        if body.stock or body.coupon_template_id or body.points_amount or body.sku_id:
            raise InvalidLottery(
                "A thanks slot grants nothing and has no stock.", data={"field": field}
            )
        return 0
    if body.stock < 1:
        raise InvalidLottery("A prize needs stock.", data={"field": f"{field}.stock"})
    if body.kind == PrizeKind.COUPON:
        template = (
            session.get(CouponTemplate, body.coupon_template_id)
            if body.coupon_template_id
            else None
        )
        if template is None:
            raise InvalidLottery(
                "No such coupon template.", data={"field": f"{field}.coupon_template_id"}
            )
        default = template.discount_amount
    elif body.kind == PrizeKind.POINTS:
        if body.points_amount is None:
            raise InvalidLottery("Say how many points.", data={"field": f"{field}.points_amount"})
        # points_value points pay ¥1 (100 fen).
        default = body.points_amount * 100 // program.current(session).points_value
    else:
        sku = session.get(Sku, body.sku_id) if body.sku_id else None
        if sku is None:
            raise InvalidLottery("No such SKU.", data={"field": f"{field}.sku_id"})
        default = sku.sale_price
    return default if body.value_amount is None else body.value_amount


def _write_table(session: Session, lottery: Lottery, bodies: Sequence[PrizeIn]) -> None:
    total = sum(body.probability for body in bodies if body.kind != PrizeKind.THANKS)
    if total > PROBABILITY_SCALE:
        raise InvalidLottery(
            "The prizes' probabilities add up to more than 10,000 basis points.",
            data={"field": "prizes", "total": total},
        )
    values = [_value_of(session, body, index) for index, body in enumerate(bodies)]
    # Old slots go first (flushed) so the new ones can take their positions.
    for old in prizes_of(session, lottery.id):
        session.delete(old)
    session.flush()
    now = clock.now()
    rows = [
        LotteryPrize(
            lottery_id=lottery.id,
            campaign_id=lottery.campaign_id,
            position=position,
            name=body.name,
            kind=body.kind.value,
            probability=body.probability,
            stock_total=body.stock,
            stock_left=body.stock,
            coupon_template_id=body.coupon_template_id if body.kind == PrizeKind.COUPON else None,
            points_amount=body.points_amount if body.kind == PrizeKind.POINTS else None,
            sku_id=body.sku_id if body.kind == PrizeKind.GOODS else None,
            value_amount=value,
            created_at=now,
            updated_at=now,
        )
        for position, (body, value) in enumerate(zip(bodies, values, strict=True))
    ]
    session.add_all(rows)
    session.flush()
    lottery.prize_table_hash = table_hash(rows)


def create(session: Session, actor: Principal, body: LotteryIn) -> tuple[Campaign, Lottery]:
    campaign = registry.create(
        session, actor, CampaignKind.LOTTERY, body.campaign, publish=body.publish
    )
    now = clock.now()
    lottery = Lottery(
        campaign_id=campaign.id,
        chances_per_day=body.chances_per_day,
        member_day_extra_chances=body.member_day_extra_chances,
        points_cost=body.points_cost,
        claim_days=body.claim_days,
        prize_table_version=1,
        prize_table_hash="",
        created_at=now,
        updated_at=now,
    )
    session.add(lottery)
    session.flush()
    _write_table(session, lottery, body.prizes)
    audit.record(
        session,
        actor,
        "lottery.created",
        target_type=AUDIT_TARGET,
        target_id=campaign.id,
        detail={"prizes": len(body.prizes), "hash": lottery.prize_table_hash},
    )
    return campaign, lottery


def _require_open(campaign: Campaign) -> phases.Phase:
    phase = phases.phase_of(campaign)
    if phase in (phases.Phase.ENDED, phases.Phase.CANCELLED):
        raise CampaignStateConflict(data={"campaign": campaign.public_id, "phase": phase.value})
    return phase


def update_lottery(
    session: Session, actor: Principal, campaign: Campaign, lottery: Lottery, body: LotteryUpdate
) -> None:
    changes = body.model_dump(exclude_unset=True, exclude={"prizes"})
    if not changes and body.prizes is None:
        return
    phase = _require_open(campaign)
    if body.prizes is not None:
        if phase not in _TABLE_EDITABLE:
            raise PrizeTableLocked(data={"campaign": campaign.public_id, "phase": phase.value})
        _write_table(session, lottery, body.prizes)
        lottery.prize_table_version += 1
    for key, value in changes.items():
        if value is None:
            raise InvalidLottery(f"{key} cannot be empty.", data={"field": key})
        setattr(lottery, key, value)
    lottery.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "lottery.updated",
        target_type=AUDIT_TARGET,
        target_id=campaign.id,
        detail={
            **changes,
            "prize_table_version": lottery.prize_table_version,
            "hash": lottery.prize_table_hash,
        },
    )


def restock(
    session: Session,
    actor: Principal,
    campaign: Campaign,
    lottery: Lottery,
    prize_id: int,
    quantity: int,
) -> LotteryPrize:
    _require_open(campaign)
    prize = session.get(LotteryPrize, prize_id)
    if prize is None or prize.lottery_id != lottery.id:
        raise PrizeNotFound(data={"prize_id": prize_id})
    if prize.kind == PrizeKind.THANKS:
        raise InvalidLottery("A thanks slot has no stock.", data={"field": "prize_id"})
    # Both counters in one UPDATE: a draw taking a unit at the same moment is never lost.
    moved = session.execute(
        update(LotteryPrize)
        .where(LotteryPrize.id == prize.id)
        .values(
            stock_total=LotteryPrize.stock_total + quantity,
            stock_left=LotteryPrize.stock_left + quantity,
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    assert rowcount(moved) == 1
    session.refresh(prize)
    audit.record(
        session,
        actor,
        "lottery.restocked",
        target_type=AUDIT_TARGET,
        target_id=campaign.id,
        detail={"prize_id": prize.id, "quantity": quantity, "stock_left": prize.stock_left},
    )
    return prize
