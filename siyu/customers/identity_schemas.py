"""Request and response bodies of the identify and identity-conflict API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.customers.identify import IdentityInput, Traits
from siyu.customers.kinds import NAMESPACED_KINDS
from siyu.models.customer import IdentityKind

MAX_IDENTITIES = 20


class IdentityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(max_length=32)
    value: str = Field(max_length=256)
    app_id: str | None = Field(default=None, max_length=128)
    corp_id: str | None = Field(default=None, max_length=128)
    platform: str | None = Field(default=None, max_length=128)

    def to_input(self) -> IdentityInput:
        # The namespace field that counts is the one the kind needs; the kind itself is
        # checked by the service (unknown kinds get their own error code).
        try:
            field_name = NAMESPACED_KINDS.get(IdentityKind(self.kind))
        except ValueError:
            field_name = None
        namespace = getattr(self, field_name) if field_name else None
        return IdentityInput(kind=self.kind, value=self.value, namespace=namespace)


class TraitsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=100)
    gender: str | None = None
    birthday: date | None = None
    city: str | None = Field(default=None, max_length=64)
    consent: dict[str, bool] | None = None

    def to_traits(self) -> Traits:
        return Traits.of(**{name: getattr(self, name) for name in self.model_fields_set})


class IdentifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identities: list[IdentityIn] = Field(min_length=1, max_length=MAX_IDENTITIES)
    traits: TraitsIn | None = None


class IdentifyOut(BaseModel):
    customer_id: int
    created: bool
    merged_customer_ids: list[int]


class ConflictOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    kind: str
    namespace: str
    customer_ids: list[int]
    detail: dict[str, Any]
    source: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None


class ConflictClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: str = Field(min_length=1, max_length=200)
