"""Registry test helpers: a campaign made through the service, at the frozen clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from siyu.campaigns.registry import service
from siyu.campaigns.registry.schemas import CampaignFields
from siyu.core import clock
from siyu.models.campaign import Campaign, CampaignKind, LifecycleStage
from siyu.models.staff import Staff
from tests.factories import make_staff, principal_of


def make_campaign(
    session: Session,
    *,
    kind: CampaignKind = CampaignKind.LOTTERY,
    name: str = "双十二会员日",
    starts_in: timedelta = timedelta(days=1),
    lasts: timedelta = timedelta(days=2),
    warmup: timedelta | None = timedelta(hours=12),
    closing: timedelta | None = None,
    holdout_percent: int = 0,
    publish: bool = True,
    staff: Staff | None = None,
) -> Campaign:
    now: datetime = clock.now()
    starts = now + starts_in
    fields = CampaignFields(
        name=name,
        touchpoints=["mp", "wecom"],
        lifecycle_stage=LifecycleStage.CONVERT,
        budget_amount=500_000,
        warmup_at=starts - warmup if warmup is not None else None,
        starts_at=starts,
        ends_at=starts + lasts,
        closes_at=starts + lasts + closing if closing is not None else None,
        holdout_percent=holdout_percent,
    )
    actor = principal_of(staff or make_staff(session))
    return service.create(session, actor, kind, fields, publish=publish)
