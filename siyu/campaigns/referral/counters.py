"""Live counters of referral campaigns for the registry's list and the monitor.

Per campaign: attributed orders and their GMV (paid minus refunded, fen), commissions
frozen / settled / reversed (fen); programme-wide: active promoters and withdrawals
waiting for review. Three grouped queries whatever the number of campaigns.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from siyu.models.order import Order
from siyu.models.referral import (
    Commission,
    Promoter,
    PromoterStatus,
    ReferralAttribution,
    ReferralWithdrawal,
    WithdrawalStatus,
)

KEYS = (
    "promoters",
    "attributed_orders",
    "gmv_amount",
    "frozen_amount",
    "settled_amount",
    "reversed_amount",
    "withdrawals_pending",
)


def for_campaigns(session: Session, campaign_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    if not campaign_ids:
        return {}
    figures = {campaign_id: dict.fromkeys(KEYS, 0) for campaign_id in campaign_ids}
    promoters_active = (
        select(func.count()).where(Promoter.status == PromoterStatus.ACTIVE.value).scalar_subquery()
    )
    pending = (
        select(func.count())
        .where(
            ReferralWithdrawal.status.in_(
                [WithdrawalStatus.REQUESTED.value, WithdrawalStatus.APPROVED.value]
            )
        )
        .scalar_subquery()
    )
    global_row = session.execute(select(promoters_active, pending)).one()
    orders = session.execute(
        select(
            ReferralAttribution.campaign_id,
            func.count(),
            func.coalesce(func.sum(Order.paid_amount - Order.refunded_amount), 0),
        )
        .join(Order, Order.id == ReferralAttribution.order_id)
        .where(ReferralAttribution.campaign_id.in_(campaign_ids), Order.paid_at.is_not(None))
        .group_by(ReferralAttribution.campaign_id)
    )
    for campaign_id, count, gmv in orders:
        figures[campaign_id]["attributed_orders"] = int(count)
        figures[campaign_id]["gmv_amount"] = int(gmv)
    money = session.execute(
        select(
            Commission.campaign_id,
            Commission.status,
            func.coalesce(func.sum(Commission.amount - Commission.reversed_amount), 0),
            func.coalesce(func.sum(Commission.reversed_amount), 0),
        )
        .where(Commission.campaign_id.in_(campaign_ids))
        .group_by(Commission.campaign_id, Commission.status)
    )
    for campaign_id, status, net, reversed_amount in money:
        row = figures[campaign_id]
        row["reversed_amount"] += int(reversed_amount)
        if status in ("frozen", "settled"):
            row[f"{status}_amount"] += int(net)
    for row in figures.values():
        row["promoters"] = int(global_row[0])
        row["withdrawals_pending"] = int(global_row[1])
    return figures
