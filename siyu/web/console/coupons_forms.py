"""The coupon template form of the console: what the operator types (yuan, 折, local
times, comma-separated ids) to the API's shape (fen, basis points, UTC, lists)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.core.settings import current as current_settings
from siyu.models.coupon import CouponTemplate
from siyu.web.money import yuan_to_fen

Text = str


class TemplateForm(BaseModel):
    """Every input of the form as typed; checkboxes arrive as lists or "on"."""

    model_config = ConfigDict(extra="ignore")

    name: Text = Field(default="", max_length=200)
    description: Text = Field(default="", max_length=2000)
    kind: Text = Field(default="threshold", max_length=16)
    threshold_yuan: Text = Field(default="", max_length=20)
    discount_yuan: Text = Field(default="", max_length=20)
    rate_zhe: Text = Field(default="", max_length=10)
    max_discount_yuan: Text = Field(default="", max_length=20)
    gift_sku_id: Text = Field(default="", max_length=20)
    scope: Text = Field(default="all", max_length=16)
    scope_ids: Text = Field(default="", max_length=5000)
    channels: list[str] = Field(default_factory=list, max_length=2)
    validity: Text = Field(default="fixed", max_length=16)
    valid_from: Text = Field(default="", max_length=20)
    valid_until: Text = Field(default="", max_length=20)
    valid_days: Text = Field(default="", max_length=10)
    claim_starts_at: Text = Field(default="", max_length=20)
    claim_ends_at: Text = Field(default="", max_length=20)
    total_quantity: Text = Field(default="", max_length=12)
    per_customer_limit: Text = Field(default="", max_length=12)
    per_day_limit: Text = Field(default="", max_length=12)
    in_coupon_centre: Text = Field(default="", max_length=5)
    min_tier_rank: Text = Field(default="", max_length=6)
    allow_on_campaign_price: Text = Field(default="", max_length=5)
    stackable_with: list[str] = Field(default_factory=list, max_length=5)


# Form input → API field it feeds, for pointing at the right input on an API error.
API_TO_FORM = {
    "threshold_amount": "threshold_yuan",
    "discount_amount": "discount_yuan",
    "discount_rate": "rate_zhe",
    "max_discount_amount": "max_discount_yuan",
}


class FormInvalid(Exception):
    def __init__(self, field_name: str) -> None:
        super().__init__(field_name)
        self.field_name = field_name


def _fen(form: TemplateForm, name: str) -> int | None:
    try:
        return yuan_to_fen(getattr(form, name))
    except ValueError as error:
        raise FormInvalid(name) from error


def _int(form: TemplateForm, name: str) -> int | None:
    text = str(getattr(form, name)).strip()
    if not text:
        return None
    if not text.isdigit():
        raise FormInvalid(name)
    return int(text)


def _rate(form: TemplateForm) -> int | None:
    """8.5 (折) → 8500 basis points paid."""
    text = form.rate_zhe.strip()
    if not text:
        return None
    try:
        zhe = Decimal(text)
    except InvalidOperation as error:
        raise FormInvalid("rate_zhe") from error
    rate = zhe * 1000
    if rate != rate.to_integral_value() or not 1 <= rate <= 9999:
        raise FormInvalid("rate_zhe")
    return int(rate)


def _moment(form: TemplateForm, name: str) -> datetime | None:
    text = str(getattr(form, name)).strip()
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).replace(tzinfo=current_settings().tzinfo)
    except ValueError as error:
        raise FormInvalid(name) from error


def _ids(form: TemplateForm) -> list[int]:
    parts = [part.strip() for part in form.scope_ids.replace("，", ",").split(",")]
    if any(part and not part.isdigit() for part in parts):
        raise FormInvalid("scope_ids")
    return [int(part) for part in parts if part]


def to_api(form: TemplateForm) -> dict[str, Any]:
    """The body for ``TemplateIn``; raises ``FormInvalid`` naming the bad input."""
    return {
        "name": form.name.strip(),
        "description": form.description.strip(),
        "kind": form.kind,
        "threshold_amount": _fen(form, "threshold_yuan") or 0,
        "discount_amount": _fen(form, "discount_yuan") or 0,
        "discount_rate": _rate(form),
        "max_discount_amount": _fen(form, "max_discount_yuan"),
        "gift_sku_id": _int(form, "gift_sku_id"),
        "scope": form.scope,
        "scope_ids": _ids(form),
        "channels": list(form.channels),
        "validity": form.validity,
        "valid_from": _moment(form, "valid_from") if form.validity == "fixed" else None,
        "valid_until": _moment(form, "valid_until") if form.validity == "fixed" else None,
        "valid_days": _int(form, "valid_days") if form.validity == "relative" else None,
        "claim_starts_at": _moment(form, "claim_starts_at"),
        "claim_ends_at": _moment(form, "claim_ends_at"),
        "total_quantity": _int(form, "total_quantity"),
        "per_customer_limit": _int(form, "per_customer_limit"),
        "per_day_limit": _int(form, "per_day_limit"),
        "in_coupon_centre": bool(form.in_coupon_centre),
        "min_tier_rank": _int(form, "min_tier_rank"),
        "allow_on_campaign_price": bool(form.allow_on_campaign_price),
        "stackable_with": list(form.stackable_with),
    }


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(current_settings().tzinfo).strftime("%Y-%m-%dT%H:%M")


def _yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:.2f}"


def form_of(template: CouponTemplate) -> TemplateForm:
    rate = template.discount_rate
    return TemplateForm(
        name=template.name,
        description=template.description,
        kind=template.kind,
        threshold_yuan=_yuan(template.threshold_amount) if template.threshold_amount else "",
        discount_yuan=_yuan(template.discount_amount) if template.discount_amount else "",
        rate_zhe="" if rate is None else f"{Decimal(rate) / 1000:f}".rstrip("0").rstrip("."),
        max_discount_yuan=_yuan(template.max_discount_amount),
        gift_sku_id=str(template.gift_sku_id or ""),
        scope=template.scope,
        scope_ids=", ".join(str(i) for i in template.scope_ids or []),
        channels=list(template.channels or []),
        validity=template.validity,
        valid_from=_local(template.valid_from),
        valid_until=_local(template.valid_until),
        valid_days=str(template.valid_days or ""),
        claim_starts_at=_local(template.claim_starts_at),
        claim_ends_at=_local(template.claim_ends_at),
        total_quantity=str(template.total_quantity or ""),
        per_customer_limit=str(template.per_customer_limit or ""),
        per_day_limit=str(template.per_day_limit or ""),
        in_coupon_centre="on" if template.in_coupon_centre else "",
        min_tier_rank="" if template.min_tier_rank is None else str(template.min_tier_rank),
        allow_on_campaign_price="on" if template.allow_on_campaign_price else "",
        stackable_with=list(template.stackable_with or []),
    )
