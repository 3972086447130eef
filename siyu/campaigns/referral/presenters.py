"""Rows to response shapes, with the few lookups they need done in bulk."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from siyu.campaigns.referral import commissions, programme, promoters, rules
from siyu.campaigns.referral.counters import for_campaigns
from siyu.campaigns.referral.schemas import (
    CommissionOut,
    ProgrammeOut,
    ProgrammeSettings,
    PromoterOut,
    RuleOut,
    WithdrawalOut,
)
from siyu.campaigns.registry import phases
from siyu.models.campaign import Campaign
from siyu.models.referral import (
    BindRule,
    Commission,
    CommissionMode,
    CommissionRule,
    Promoter,
    ReferralWithdrawal,
    RuleScope,
)


def rule_out(rule: CommissionRule) -> RuleOut:
    return RuleOut(
        id=rule.id,
        scope=RuleScope(rule.scope),
        target_id=rule.target_id,
        mode=CommissionMode(rule.mode),
        level1_value=rule.level1_value,
        level2_value=rule.level2_value,
    )


def programme_out(session: Session, campaign: Campaign) -> ProgrammeOut:
    settings = programme.settings_of(session, campaign.id)
    return ProgrammeOut(
        campaign_id=campaign.id,
        public_id=campaign.public_id,
        name=campaign.name,
        phase=phases.phase_of(campaign).value,
        starts_at=campaign.starts_at,
        ends_at=campaign.ends_at,
        settings=ProgrammeSettings(
            auto_approve=settings.auto_approve,
            bind_rule=BindRule(settings.bind_rule),
            bind_days=settings.bind_days,
            min_withdrawal_amount=settings.min_withdrawal_amount,
            second_level_enabled=settings.second_level_enabled,
        ),
        rules=[rule_out(rule) for rule in rules.list_rules(session, campaign.id)],
        counters=for_campaigns(session, [campaign.id]).get(campaign.id, {}),
    )


def promoters_out(session: Session, rows: Sequence[Promoter]) -> list[PromoterOut]:
    parents = promoters.codes_of(session, {row.parent_id for row in rows if row.parent_id})
    return [
        PromoterOut(
            public_id=row.public_id,
            code=row.code,
            kind=row.kind,
            status=row.status,
            display_name=row.display_name,
            customer_id=row.customer_id,
            staff_id=row.staff_id,
            depth=row.depth,
            parent_code=parents.get(row.parent_id) if row.parent_id else None,
            frozen_amount=row.frozen_amount,
            withdrawable_amount=row.withdrawable_amount,
            withdrawing_amount=row.withdrawing_amount,
            withdrawn_amount=row.withdrawn_amount,
            created_at=row.created_at,
            approved_at=row.approved_at,
        )
        for row in rows
    ]


def promoter_out(session: Session, row: Promoter) -> PromoterOut:
    session.refresh(row)
    return promoters_out(session, [row])[0]


def commissions_out(session: Session, rows: Sequence[Commission]) -> list[CommissionOut]:
    orders = commissions.order_public_ids(session, {row.order_id for row in rows})
    codes = promoters.codes_of(session, {row.promoter_id for row in rows})
    return [
        CommissionOut(
            id=row.id,
            order_public_id=orders.get(row.order_id, ""),
            promoter_code=codes.get(row.promoter_id, ""),
            level=row.level,
            base_amount=row.base_amount,
            amount=row.amount,
            reversed_amount=row.reversed_amount,
            status=row.status,
            rule=row.rule,
            created_at=row.created_at,
            settled_at=row.settled_at,
        )
        for row in rows
    ]


def withdrawals_out(session: Session, rows: Sequence[ReferralWithdrawal]) -> list[WithdrawalOut]:
    codes = promoters.codes_of(session, {row.promoter_id for row in rows})
    return [
        WithdrawalOut(
            public_id=row.public_id,
            promoter_code=codes.get(row.promoter_id, ""),
            amount=row.amount,
            status=row.status,
            requested_at=row.requested_at,
            reviewed_at=row.reviewed_at,
            reviewed_by=row.reviewed_by,
            paid_at=row.paid_at,
            payout_reference=row.payout_reference,
            note=row.note,
        )
        for row in rows
    ]
