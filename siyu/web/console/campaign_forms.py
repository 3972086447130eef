"""Form helpers the campaign mechanics' console pages share (bargain, assist,
group-buy, lottery, flash sale, referral).

Two families, kept apart on purpose:

- the strict ``form_*`` readers (bargain, assist, group-buy) raise ``FormInvalid``
  naming the field, so the page re-renders with that field's message;
- the lenient ``optional_*`` readers (lottery, flash sale, referral) turn what cannot
  be read into ``None`` and leave the refusal to the schema.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.campaigns.registry.errors import CampaignNotFound
from siyu.core import clock
from siyu.core.settings import current as current_settings
from siyu.models.campaign import Campaign, CampaignKind, LifecycleStage
from siyu.models.coupon import CouponTemplate, TemplateStatus
from siyu.staff.permissions import Permission
from siyu.web.console.deps import ConsolePage, page_requiring

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.CAMPAIGNS_MANAGE))]


class FormInvalid(Exception):
    def __init__(self, field_name: str) -> None:
        super().__init__(field_name)
        self.field_name = field_name


def form_fen(values: dict[str, str], name: str) -> int | None:
    """Yuan with at most two decimals, not negative, as fen; blank is None."""
    text = values.get(name, "").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as error:
        raise FormInvalid(name) from error
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise FormInvalid(name)
    return int(amount * 100)


def form_int(values: dict[str, str], name: str) -> int | None:
    text = values.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError as error:
        raise FormInvalid(name) from error


def form_moment(values: dict[str, str], name: str) -> datetime:
    """A ``datetime-local`` value in the shop's time zone."""
    try:
        return datetime.fromisoformat(values.get(name, "").strip()).replace(
            tzinfo=current_settings().tzinfo
        )
    except ValueError as error:
        raise FormInvalid(name) from error


def campaign_part(values: dict[str, str]) -> dict[str, Any]:
    """The registry's ``CampaignFields`` from the form's common inputs."""
    return {
        "name": values.get("name", "").strip(),
        "description": values.get("description", "").strip(),
        "lifecycle_stage": values.get("lifecycle_stage") or LifecycleStage.ACQUIRE,
        "starts_at": form_moment(values, "starts_at"),
        "ends_at": form_moment(values, "ends_at"),
    }


def validation_field(error: ValidationError, renames: dict[str, str]) -> str:
    """The form field behind a schema refusal (money fields are typed in yuan)."""
    location = error.errors()[0]["loc"]
    name = str(location[-1]) if location else "name"
    return renames.get(name, name)


def invalid_message(page: ConsolePage, prefix: str, field_name: str) -> str:
    label = f"{prefix}.field.{field_name}"
    return page.t(
        f"{prefix}.invalid_field", field=page.t(label) if page.t.has(label) else field_name
    )


def form_refusal(
    page: ConsolePage,
    prefix: str,
    invalid: FormInvalid | ValidationError,
    renames: dict[str, str],
) -> tuple[str, str]:
    """(message, form field) for a form a reader or the schema refused."""
    if isinstance(invalid, FormInvalid):
        field_name = invalid.field_name
    else:
        field_name = validation_field(invalid, renames)
    return invalid_message(page, prefix, field_name), field_name


async def form_values(request: Request, fields: tuple[str, ...]) -> dict[str, str]:
    """The named fields of a posted form as text, each cut at 2,000 characters."""
    form = await request.form()
    return {name: str(form.get(name, ""))[:2000] for name in fields}


def default_values(fields: tuple[str, ...], extra: dict[str, str]) -> dict[str, str]:
    """A new helper campaign's form (bargain, assist): today, published, M = 3, 24 h."""
    now = clock.now().astimezone(current_settings().tzinfo)
    values = dict.fromkeys(fields, "")
    values.update(
        {
            "lifecycle_stage": LifecycleStage.ACQUIRE.value,
            "starts_at": now.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": now.replace(hour=23, minute=59).strftime("%Y-%m-%dT%H:%M"),
            "daily_help_limit": "3",
            "time_limit_minutes": "1440",
            "publish": "on",
            **extra,
        }
    )
    return values


def active_templates(session: Session) -> list[CouponTemplate]:
    return list(
        session.scalars(
            select(CouponTemplate)
            .where(CouponTemplate.status == TemplateStatus.ACTIVE.value)
            .order_by(CouponTemplate.id.desc())
            .limit(200)
        )
    )


def campaign_of(session: Session, public_id: str, kind: CampaignKind) -> Campaign:
    campaign = session.scalars(select(Campaign).where(Campaign.public_id == public_id)).first()
    if campaign is None or campaign.kind != kind.value:
        raise CampaignNotFound(data={"campaign": public_id})
    return campaign


def optional_moment(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=current_settings().tzinfo)
    except ValueError:
        return None


def optional_number(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() else None


def optional_fen(text: str) -> int | None:
    """Yuan as typed ("12.5") → fen, rounded; anything else None."""
    try:
        return round(float(text.strip()) * 100)
    except ValueError:
        return None
