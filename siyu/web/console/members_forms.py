"""Form shapes of the members console pages: text in, the services' types out.

Forms carry strings (what the browser sends); these helpers turn them into the
schemas the services validate, so a bad number is one clear message on the page and
every rule stays in ``siyu.members``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from siyu.members.program import ProgramConfig
from siyu.models.member import MemberTier
from siyu.web.money import input_yuan, yuan_to_fen

# (field, input type) in the order the form shows them.
TIER_FIELDS: tuple[tuple[str, str], ...] = (
    ("code", "text"),
    ("name", "text"),
    ("name_en", "text"),
    ("rank", "number"),
    ("growth_threshold", "number"),
    ("discount_rate", "number"),
    ("points_multiplier", "number"),
    ("free_shipping_yuan", "text"),
    ("birthday_points", "number"),
    ("birthday_coupon_template_id", "number"),
    ("description", "text"),
)
_INTEGERS = (
    "rank",
    "growth_threshold",
    "discount_rate",
    "points_multiplier",
    "birthday_points",
    "birthday_coupon_template_id",
)


class TierForm(BaseModel):
    code: str = ""
    name: str = ""
    name_en: str = ""
    rank: str = ""
    growth_threshold: str = ""
    discount_rate: str = "10000"
    points_multiplier: str = "100"
    free_shipping_yuan: str = ""
    birthday_points: str = "0"
    birthday_coupon_template_id: str = ""
    description: str = ""
    error: str | None = None

    def get(self, name: str) -> str:
        value = getattr(self, name, "")
        return "" if value is None else str(value)


def _integer(text: str) -> int | None:
    cleaned = text.strip()
    return int(cleaned) if cleaned else None


def tier_payload(form: TierForm) -> dict[str, Any]:
    """The schema's fields; ValueError for a number that is not one."""
    data: dict[str, Any] = {
        "code": form.code.strip(),
        "name": form.name.strip(),
        "name_en": form.name_en.strip(),
        "description": form.description.strip(),
        "free_shipping_threshold": yuan_to_fen(form.free_shipping_yuan),
    }
    for name in _INTEGERS:
        data[name] = _integer(getattr(form, name))
    # Blank required numbers fall to the schema, which names the missing field.
    return {
        key: value
        for key, value in data.items()
        if value is not None
        or key
        in (
            "free_shipping_threshold",
            "birthday_coupon_template_id",
        )
    }


def tier_form_values(tier: MemberTier) -> TierForm:
    return TierForm(
        code=tier.code,
        name=tier.name,
        name_en=tier.name_en,
        rank=str(tier.rank),
        growth_threshold=str(tier.growth_threshold),
        discount_rate=str(tier.discount_rate),
        points_multiplier=str(tier.points_multiplier),
        free_shipping_yuan=input_yuan(tier.free_shipping_threshold),
        birthday_points=str(tier.birthday_points),
        birthday_coupon_template_id=str(tier.birthday_coupon_template_id or ""),
        description=tier.description,
    )


class ProgramForm(BaseModel):
    """The rules form, flat: ``section__field`` names map to the nested document;
    checkboxes are absent when unticked."""

    growth_per_yuan: str = ""
    growth_tasks__complete_profile: str = ""
    growth_tasks__first_wecom_add: str = ""
    growth_tasks__review: str = ""
    points_per_yuan: str = ""
    points_value: str = ""
    spend_cap_percent: str = ""
    min_spend_points: str = ""
    expiry_policy: str = ""
    reminder_days: str = ""
    review_period_months: str = ""
    refund_policy__reverse_earned: str | None = None
    refund_policy__return_spent: str | None = None
    member_day__enabled: str | None = None
    member_day__day_of_month: str = ""
    member_day__points_multiplier: str = ""
    member_day__coupon_template_id: str = ""
    member_day__discount_rate: str = ""
    birthday__enabled: str | None = None
    birthday__points: str = ""
    birthday__coupon_template_id: str = ""
    anniversary__enabled: str | None = None
    anniversary__points: str = ""
    anniversary__coupon_template_id: str = ""


_CHECKBOXES = {
    "refund_policy__reverse_earned",
    "refund_policy__return_spent",
    "member_day__enabled",
    "birthday__enabled",
    "anniversary__enabled",
}
_TEXTS = {"expiry_policy"}
_OPTIONAL = {
    "member_day__coupon_template_id",
    "birthday__coupon_template_id",
    "anniversary__coupon_template_id",
}


def program_document(form: ProgramForm) -> dict[str, Any]:
    """The nested document ``program.validate`` checks; ValueError for a bad number."""
    document: dict[str, Any] = {}
    for name, raw in form.model_dump().items():
        if name in _CHECKBOXES:
            value: Any = raw is not None
        elif name in _TEXTS:
            value = (raw or "").strip()
        else:
            value = _integer(raw or "")
            if value is None and name not in _OPTIONAL:
                # Left blank: keep the default rather than fail.
                continue
        section, _, field = name.partition("__")
        if field:
            document.setdefault(section, {})[field] = value
        else:
            document[section] = value
    return document


def program_form_values(config: ProgramConfig) -> dict[str, Any]:
    """Flat ``section__field`` values of ``config`` for the form."""
    values: dict[str, Any] = {}
    for key, value in config.model_dump(mode="json").items():
        if isinstance(value, dict):
            for field, inner in value.items():
                values[f"{key}__{field}"] = inner
        else:
            values[key] = value
    return values
