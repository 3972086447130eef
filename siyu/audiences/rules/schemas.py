"""Pydantic shapes of the rule API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RuleIn(BaseModel):
    # The JSON rule tree; parse() checks it and reports the path of any fault.
    rule: Any = Field(description="The JSON rule tree (docs/rules.md).")
    locale: str = Field("zh-CN", pattern=r"^(zh-CN|en)$")


class RuleTextOut(BaseModel):
    zh: str
    en: str


class RuleValidOut(BaseModel):
    valid: bool
    text: RuleTextOut
    tag_ids: list[int]


class RuleSampleCustomer(BaseModel):
    id: int
    # Masked unless the caller holds customers.pii.
    name: str | None
    city: str | None


class RulePreviewOut(BaseModel):
    count: int
    sample: list[RuleSampleCustomer]
    text: str
    seconds: float
