"""Create, change, publish and cancel campaigns; find them; decide the holdout.

Every mechanic creates its campaign through :func:`create` in the same transaction
as its own settings, so a flash sale never exists without its registry row. Writes
are audited (``campaign.created`` …). The holdout is decided by a stable hash, not
stored per customer: the same customer is in or out for the whole campaign on
every server, and analytics can recompute it (``docs/campaigns.md``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.campaigns.registry import phases
from siyu.campaigns.registry.errors import (
    CampaignLocked,
    CampaignNotFound,
    CampaignStateConflict,
    InvalidCampaign,
)
from siyu.campaigns.registry.schemas import CampaignFields, CampaignUpdate
from siyu.core import clock
from siyu.events.catalogue import TOUCHPOINTS as EVENT_TOUCHPOINTS
from siyu.models.base import new_public_id
from siyu.models.campaign import Campaign, CampaignKind, CampaignStatus
from siyu.models.staff import Staff
from siyu.staff import audit
from siyu.staff.principal import Principal

# Where a campaign can run: the tracked-event touchpoints plus the two private-domain
# places that are not a client of their own (community groups and WeCom moments).
TOUCHPOINTS: tuple[str, ...] = (*EVENT_TOUCHPOINTS, "community", "moments")
# Fields that customers were promised once the campaign is live.
_LOCKED_WHEN_STARTED = ("warmup_at", "starts_at", "holdout_percent")
AUDIT_TARGET = "campaign"


def _check(values: dict[str, Any]) -> None:
    unknown = [touchpoint for touchpoint in values["touchpoints"] if touchpoint not in TOUCHPOINTS]
    if unknown:
        raise InvalidCampaign(
            f"Unknown touchpoint {unknown[0]!r}.",
            data={"field": "touchpoints", "allowed": list(TOUCHPOINTS)},
        )
    starts, ends = values["starts_at"], values["ends_at"]
    for field in ("warmup_at", "starts_at", "ends_at", "closes_at"):
        moment = values.get(field)
        if moment is not None and moment.tzinfo is None:
            raise InvalidCampaign("Times need a time zone.", data={"field": field})
    if ends <= starts:
        raise InvalidCampaign("The campaign must end after it starts.", data={"field": "ends_at"})
    if values.get("warmup_at") is not None and values["warmup_at"] > starts:
        raise InvalidCampaign("Warm-up comes before the start.", data={"field": "warmup_at"})
    if values.get("closes_at") is not None and values["closes_at"] < ends:
        raise InvalidCampaign("Closing ends after the end.", data={"field": "closes_at"})


def _check_owner(session: Session, owner_staff_id: int | None) -> None:
    if owner_staff_id is not None and session.get(Staff, owner_staff_id) is None:
        raise InvalidCampaign("No such staff member.", data={"field": "owner_staff_id"})


def create(
    session: Session,
    actor: Principal,
    kind: CampaignKind,
    fields: CampaignFields,
    *,
    publish: bool = False,
) -> Campaign:
    """A new campaign of ``kind`` (draft unless ``publish``); the mechanic adds its own
    rows in the same transaction."""
    values = fields.model_dump()
    _check(values)
    _check_owner(session, fields.owner_staff_id)
    now = clock.now()
    campaign = Campaign(
        public_id=new_public_id("cmp"),
        kind=kind.value,
        status=CampaignStatus.PUBLISHED if publish else CampaignStatus.DRAFT,
        created_by=actor.username[:64],
        created_at=now,
        updated_at=now,
        **values,
    )
    session.add(campaign)
    session.flush()
    audit.record(
        session,
        actor,
        "campaign.created",
        target_type=AUDIT_TARGET,
        target_id=campaign.id,
        detail={"kind": kind.value, "name": campaign.name, "published": publish},
    )
    return campaign


def get(session: Session, campaign_id: int, *, kind: CampaignKind | None = None) -> Campaign:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or (kind is not None and campaign.kind != kind.value):
        raise CampaignNotFound(data={"campaign_id": campaign_id})
    return campaign


def get_public(session: Session, public_id: str, *, kind: CampaignKind | None = None) -> Campaign:
    """A campaign customers may see (warm-up, live or closing), by its public id."""
    campaign = session.scalars(select(Campaign).where(Campaign.public_id == public_id)).first()
    if (
        campaign is None
        or (kind is not None and campaign.kind != kind.value)
        or not phases.is_visible(campaign)
    ):
        raise CampaignNotFound(data={"campaign": public_id})
    return campaign


def list_campaigns(
    session: Session,
    *,
    kind: CampaignKind | None = None,
    phase: phases.Phase | None = None,
    limit: int = 200,
) -> list[Campaign]:
    statement = select(Campaign).order_by(Campaign.starts_at.desc(), Campaign.id.desc())
    if kind is not None:
        statement = statement.where(Campaign.kind == kind.value)
    rows = list(session.scalars(statement.limit(limit if phase is None else limit * 5)))
    if phase is not None:
        now = clock.now()
        rows = [row for row in rows if phases.phase_of(row, now) == phase][:limit]
    return rows


def visible(session: Session, *, kind: CampaignKind | None = None) -> list[Campaign]:
    """What the storefront lists: published campaigns in warm-up, live or closing."""
    now = clock.now()
    statement = select(Campaign).where(
        Campaign.status == CampaignStatus.PUBLISHED,
        func.coalesce(Campaign.warmup_at, Campaign.starts_at) <= now,
        func.coalesce(Campaign.closes_at, Campaign.ends_at) > now,
    )
    if kind is not None:
        statement = statement.where(Campaign.kind == kind.value)
    rows = session.scalars(statement.order_by(Campaign.starts_at, Campaign.id))
    return [row for row in rows if phases.is_visible(row, now)]


def update(session: Session, actor: Principal, campaign: Campaign, body: CampaignUpdate) -> None:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        return
    phase = phases.phase_of(campaign)
    if phase in (phases.Phase.CANCELLED, phases.Phase.ENDED):
        raise CampaignStateConflict(data={"campaign": campaign.public_id, "phase": phase.value})
    if phase not in (phases.Phase.DRAFT, phases.Phase.SCHEDULED):
        locked = [
            field
            for field in _LOCKED_WHEN_STARTED
            if field in changes and changes[field] != getattr(campaign, field)
        ]
        if locked:
            raise CampaignLocked(data={"field": locked[0], "phase": phase.value})
    values = {
        column: getattr(campaign, column)
        for column in ("touchpoints", "warmup_at", "starts_at", "ends_at", "closes_at")
    }
    values.update({key: value for key, value in changes.items() if key in values})
    for field in ("touchpoints", "starts_at", "ends_at"):
        if values[field] is None:
            raise InvalidCampaign(f"{field} cannot be empty.", data={"field": field})
    _check(values)
    _check_owner(session, changes.get("owner_staff_id"))
    for key, value in changes.items():
        setattr(campaign, key, value)
    campaign.updated_at = clock.now()
    audit.record(
        session,
        actor,
        "campaign.updated",
        target_type=AUDIT_TARGET,
        target_id=campaign.id,
        detail={key: _jsonable(value) for key, value in changes.items()},
    )


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime) else value


def publish(session: Session, actor: Principal, campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignStateConflict(
            data={"campaign": campaign.public_id, "status": campaign.status}
        )
    if campaign.ends_at <= clock.now():
        raise InvalidCampaign("The campaign's end has passed.", data={"field": "ends_at"})
    campaign.status = CampaignStatus.PUBLISHED
    campaign.updated_at = clock.now()
    audit.record(
        session, actor, "campaign.published", target_type=AUDIT_TARGET, target_id=campaign.id
    )


def cancel(session: Session, actor: Principal, campaign: Campaign, *, reason: str) -> None:
    """Stop a campaign: no new entries from now. What customers already hold (orders,
    open groups, bargains) is settled by the mechanic's own rules."""
    if (
        campaign.status == CampaignStatus.CANCELLED
        or phases.phase_of(campaign) == phases.Phase.ENDED
    ):
        raise CampaignStateConflict(
            data={"campaign": campaign.public_id, "status": campaign.status}
        )
    now = clock.now()
    campaign.status = CampaignStatus.CANCELLED
    campaign.cancelled_at = now
    campaign.updated_at = now
    audit.record(
        session,
        actor,
        "campaign.cancelled",
        target_type=AUDIT_TARGET,
        target_id=campaign.id,
        detail={"reason": reason[:200]},
    )


def in_holdout(campaign: Campaign, customer_id: int) -> bool:
    """Whether ``customer_id`` is in the campaign's holdout: left out of its outreach
    (journeys, mass sends, guide tasks) so analytics can compare. Stable: a hash of
    the campaign's public id and the customer id, bucketed into 100."""
    if campaign.holdout_percent <= 0:
        return False
    digest = hashlib.sha256(f"{campaign.public_id}:{customer_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < campaign.holdout_percent


def by_ids(session: Session, ids: Sequence[int]) -> dict[int, Campaign]:
    if not ids:
        return {}
    return {row.id: row for row in session.scalars(select(Campaign).where(Campaign.id.in_(ids)))}
