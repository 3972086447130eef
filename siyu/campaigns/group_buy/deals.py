"""Group-buy campaigns and their deals: create (with the registry row, in one
transaction), change, find. Prices and group size lock once the campaign has started
(customers were promised them); stock may only grow, through one UPDATE that moves
``stock_total`` and ``stock_left`` together so a racing seat never sees left > total.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from siyu.campaigns.group_buy.errors import DealLocked, DealNotFound, InvalidDeal
from siyu.campaigns.group_buy.schemas import DealIn, DealUpdate, GroupBuyIn
from siyu.campaigns.registry import phases
from siyu.campaigns.registry import service as registry
from siyu.catalog import prices
from siyu.catalog.errors import SkuUnavailable
from siyu.core import clock
from siyu.models.base import new_public_id
from siyu.models.campaign import Campaign, CampaignKind
from siyu.models.catalog import SalesChannel
from siyu.models.group_buy import GroupBuyDeal
from siyu.staff import audit
from siyu.staff.principal import Principal

KIND = CampaignKind.GROUP_BUY
# Fields customers were promised once the campaign is live.
_LOCKED_WHEN_STARTED = ("group_price", "leader_price", "group_size")


def _check_sku(session: Session, sku_id: int) -> None:
    try:
        prices.sellable_skus(session, [sku_id], channel=SalesChannel.MALL)
    except SkuUnavailable as error:
        raise InvalidDeal(
            "The SKU is not sold in the mall.",
            data={"field": "sku_id", "reason": error.data.get("reason")},
        ) from error


def _check_prices(group_price: int, leader_price: int | None) -> None:
    if leader_price is not None and leader_price > group_price:
        raise InvalidDeal(
            "The leader price cannot exceed the group price.", data={"field": "leader_price"}
        )


def _add_deal(session: Session, campaign: Campaign, body: DealIn) -> GroupBuyDeal:
    _check_sku(session, body.sku_id)
    _check_prices(body.group_price, body.leader_price)
    values = body.model_dump()
    deal = GroupBuyDeal(
        public_id=new_public_id("gbd"),
        campaign_id=campaign.id,
        stock_left=body.stock_total,
        **values,
    )
    session.add(deal)
    session.flush()
    return deal


def create(
    session: Session, actor: Principal, body: GroupBuyIn
) -> tuple[Campaign, list[GroupBuyDeal]]:
    campaign = registry.create(session, actor, KIND, body.campaign, publish=body.publish)
    deals = [_add_deal(session, campaign, deal) for deal in body.deals]
    audit.record(
        session,
        actor,
        "group_buy.created",
        target_type=registry.AUDIT_TARGET,
        target_id=campaign.id,
        detail={"deals": [deal.public_id for deal in deals]},
    )
    return campaign, deals


def add_deal(session: Session, actor: Principal, campaign: Campaign, body: DealIn) -> GroupBuyDeal:
    phase = phases.phase_of(campaign)
    if phase in (phases.Phase.CLOSING, phases.Phase.ENDED, phases.Phase.CANCELLED):
        raise DealLocked("The campaign is over.", data={"phase": phase.value})
    deal = _add_deal(session, campaign, body)
    audit.record(
        session,
        actor,
        "group_buy.deal_added",
        target_type="group_buy_deal",
        target_id=deal.id,
        detail={"campaign": campaign.public_id, "title": deal.title},
    )
    return deal


def update_deal(
    session: Session, actor: Principal, deal: GroupBuyDeal, body: DealUpdate
) -> GroupBuyDeal:
    changes = body.model_dump(exclude_unset=True)
    campaign = registry.get(session, deal.campaign_id, kind=KIND)
    phase = phases.phase_of(campaign)
    started = phase not in (phases.Phase.DRAFT, phases.Phase.SCHEDULED, phases.Phase.WARM_UP)
    if started:
        locked = [
            name
            for name in _LOCKED_WHEN_STARTED
            if name in changes and changes[name] != getattr(deal, name)
        ]
        if locked:
            raise DealLocked(data={"field": locked[0], "phase": phase.value})
    for name in ("title", "group_price", "group_size", "time_limit_minutes", "sort"):
        if name in changes and changes[name] is None:
            raise InvalidDeal(f"{name} cannot be empty.", data={"field": name})
    _check_prices(
        changes.get("group_price", deal.group_price), changes.get("leader_price", deal.leader_price)
    )
    stock_total = changes.pop("stock_total", None)
    if stock_total is not None and stock_total < deal.stock_total:
        raise InvalidDeal("Stock can only grow.", data={"field": "stock_total"})
    changed = {key: value for key, value in changes.items() if getattr(deal, key) != value}
    for key, value in changed.items():
        setattr(deal, key, value)
    deal.updated_at = clock.now()
    session.flush()
    if stock_total is not None and stock_total > deal.stock_total:
        added = stock_total - deal.stock_total
        session.execute(
            update(GroupBuyDeal)
            .where(GroupBuyDeal.id == deal.id)
            .values(
                stock_total=GroupBuyDeal.stock_total + added,
                stock_left=GroupBuyDeal.stock_left + added,
            )
            .execution_options(synchronize_session=False)
        )
        session.refresh(deal)
        changed["stock_total"] = deal.stock_total
    if changed:
        audit.record(
            session,
            actor,
            "group_buy.deal_updated",
            target_type="group_buy_deal",
            target_id=deal.id,
            detail={key: str(value) for key, value in changed.items()},
        )
    return deal


def get(session: Session, deal_id: int) -> GroupBuyDeal:
    deal = session.get(GroupBuyDeal, deal_id)
    if deal is None:
        raise DealNotFound(data={"deal_id": deal_id})
    return deal


def get_by_public_id(session: Session, public_id: str) -> GroupBuyDeal:
    deal = session.scalars(select(GroupBuyDeal).where(GroupBuyDeal.public_id == public_id)).first()
    if deal is None:
        raise DealNotFound(data={"deal": public_id})
    return deal


def public_deal(session: Session, public_id: str) -> tuple[GroupBuyDeal, Campaign]:
    """A deal customers may see: its campaign is in warm-up, live or closing."""
    deal = get_by_public_id(session, public_id)
    campaign = session.get(Campaign, deal.campaign_id)
    if campaign is None or not phases.is_visible(campaign):
        raise DealNotFound(data={"deal": public_id})
    return deal, campaign


def deals_of(session: Session, campaign_ids: list[int]) -> dict[int, list[GroupBuyDeal]]:
    found: dict[int, list[GroupBuyDeal]] = {campaign_id: [] for campaign_id in campaign_ids}
    if not campaign_ids:
        return found
    rows = session.scalars(
        select(GroupBuyDeal)
        .where(GroupBuyDeal.campaign_id.in_(campaign_ids))
        .order_by(GroupBuyDeal.sort.desc(), GroupBuyDeal.id)
    )
    for row in rows:
        found[row.campaign_id].append(row)
    return found
