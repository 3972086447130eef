"""The referral programme: a campaign of kind ``referral`` with its settings and
default commission rule, and which programme is live now.

The campaign's dates bound the programme: share links bind customers and orders are
attributed only while it is live. One live referral programme at a time: creating one
whose dates overlap another published one is refused (``referral.programme_overlaps``);
should two overlap anyway (one published later by hand), the one that started last
is the live one, so the choice is always the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.referral import rules
from siyu.campaigns.referral.errors import ProgrammeAlreadyLive
from siyu.campaigns.referral.schemas import ProgrammeIn, SettingsUpdate
from siyu.campaigns.registry import service as registry
from siyu.campaigns.registry.errors import CampaignNotFound
from siyu.core import clock
from siyu.models.campaign import Campaign, CampaignKind, CampaignStatus
from siyu.models.referral import ReferralProgramme
from siyu.staff import audit
from siyu.staff.principal import Principal


@dataclass(frozen=True)
class Live:
    campaign_id: int
    auto_approve: bool
    bind_rule: str
    bind_days: int
    min_withdrawal_amount: int
    second_level_enabled: bool


def create(session: Session, actor: Principal, body: ProgrammeIn) -> Campaign:
    fields = body.campaign
    overlapping = session.scalar(
        select(Campaign.id)
        .where(
            Campaign.kind == CampaignKind.REFERRAL.value,
            Campaign.status != CampaignStatus.CANCELLED,
            Campaign.starts_at < fields.ends_at,
            Campaign.ends_at > fields.starts_at,
        )
        .limit(1)
    )
    if overlapping is not None:
        raise ProgrammeAlreadyLive(data={"campaign_id": overlapping})
    campaign = registry.create(session, actor, CampaignKind.REFERRAL, fields, publish=body.publish)
    session.add(ReferralProgramme(campaign_id=campaign.id, **body.settings.model_dump()))
    session.flush()
    rules.put(session, actor, campaign.id, body.default_rule)
    return campaign


def settings_of(session: Session, campaign_id: int) -> ReferralProgramme:
    row = session.get(ReferralProgramme, campaign_id)
    if row is None:  # every referral campaign is created with its settings
        raise CampaignNotFound(data={"campaign_id": campaign_id})
    return row


def update_settings(
    session: Session, actor: Principal, campaign_id: int, body: SettingsUpdate
) -> ReferralProgramme:
    registry.get(session, campaign_id, kind=CampaignKind.REFERRAL)
    row = settings_of(session, campaign_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    for key, value in changes.items():
        setattr(row, key, value)
    row.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "referral.settings_updated",
        target_type="campaign",
        target_id=campaign_id,
        detail={key: str(value) for key, value in changes.items()},
    )
    return row


def _find_live(session: Session) -> Live | None:
    now = clock.now()
    row = session.execute(
        select(ReferralProgramme, Campaign.id)
        .join(Campaign, Campaign.id == ReferralProgramme.campaign_id)
        .where(
            Campaign.kind == CampaignKind.REFERRAL.value,
            Campaign.status == CampaignStatus.PUBLISHED,
            Campaign.starts_at <= now,
            Campaign.ends_at > now,
        )
        .order_by(Campaign.starts_at.desc(), Campaign.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    settings: ReferralProgramme = row[0]
    return Live(
        campaign_id=row[1],
        auto_approve=settings.auto_approve,
        bind_rule=settings.bind_rule,
        bind_days=settings.bind_days,
        min_withdrawal_amount=settings.min_withdrawal_amount,
        second_level_enabled=settings.second_level_enabled,
    )


def live(session: Session) -> Live | None:
    """The programme running now (one indexed query; checkout asks on every order)."""
    return _find_live(session)
