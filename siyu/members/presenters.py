"""Shaping reads into API output (shared by the operator and storefront routers)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.customers.errors import CustomerNotFound
from siyu.members import reads
from siyu.members.schemas import (
    ExpiringOut,
    MembershipOut,
    ShopTierOut,
    TierChangeOut,
    TierOut,
)
from siyu.models.customer import Customer
from siyu.models.member import MemberTier
from siyu.staff.principal import Principal
from siyu.staff.scope import scoped


def visible_customer(session: Session, principal: Principal, customer_id: int) -> int:
    """The customer id if the caller's data scope includes it, else 404 (a guide
    never learns that another guide's customer exists)."""
    found = session.scalar(
        scoped(select(Customer.id), Customer, principal).where(Customer.id == customer_id)
    )
    if found is None:
        raise CustomerNotFound(data={"customer_id": customer_id})
    return int(found)


def _tier(tier: MemberTier | None) -> TierOut | None:
    return TierOut.model_validate(tier) if tier is not None else None


def expiring_out(found: reads.Expiring | None) -> ExpiringOut | None:
    return ExpiringOut(points=found.points, expires_at=found.expires_at) if found else None


def membership_out(summary: reads.Summary) -> MembershipOut:
    membership = summary.membership
    return MembershipOut(
        customer_id=summary.customer_id,
        is_member=membership is not None,
        tier=_tier(summary.tier),
        next_tier=_tier(summary.next_tier),
        growth_value=summary.growth_value,
        period_growth=summary.period_growth,
        growth_to_next=summary.growth_to_next,
        points_available=summary.points_available,
        points_frozen=summary.points_frozen,
        expiring=expiring_out(summary.expiring),
        joined_at=membership.joined_at if membership else None,
        tier_reviewed_at=membership.tier_reviewed_at if membership else None,
        next_review_at=summary.next_review_at,
        tier_changes=[TierChangeOut.model_validate(change) for change in summary.tier_changes],
    )


def shop_tier(tier: MemberTier | None, *, current_rank: int | None = None) -> ShopTierOut | None:
    if tier is None:
        return None
    return ShopTierOut(
        code=tier.code,
        name=tier.name,
        name_en=tier.name_en,
        rank=tier.rank,
        growth_threshold=tier.growth_threshold,
        discount_rate=tier.discount_rate,
        points_multiplier=tier.points_multiplier,
        free_shipping_threshold=tier.free_shipping_threshold,
        birthday_points=tier.birthday_points,
        description=tier.description,
        is_current=current_rank == tier.rank,
    )
