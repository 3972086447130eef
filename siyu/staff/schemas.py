"""Request and response shapes of the staff API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from siyu.models.staff import Role, Staff


class StaffCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=2, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    roles: list[Role] = Field(min_length=1)
    display_name: str = Field(default="", max_length=100)
    store_id: int | None = Field(default=None, ge=1)
    language: str = Field(default="zh-CN", pattern="^(zh-CN|en)$")


class RolesUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role] = Field(min_length=1)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Leave empty to have a strong password generated and returned once.
    password: str | None = Field(default=None, max_length=256)


class PasswordResetResult(BaseModel):
    password: str


class StaffOut(BaseModel):
    id: int
    username: str
    display_name: str
    roles: list[str]
    is_active: bool
    store_id: int | None
    language: str
    last_login_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, staff: Staff) -> StaffOut:
        return cls(
            id=staff.id,
            username=staff.username,
            display_name=staff.display_name,
            roles=sorted(link.role for link in staff.roles),
            is_active=staff.is_active,
            store_id=staff.store_id,
            language=staff.language,
            last_login_at=staff.last_login_at,
            created_at=staff.created_at,
        )


class MeOut(BaseModel):
    staff_id: int | None
    username: str
    roles: list[str]
    permissions: list[str]
    store_id: int | None
    auth_method: str


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=100)
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    staff_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    # The only time the raw token is ever shown.
    token: str


class AuditEntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    created_at: datetime
    staff_id: int | None
    actor: str
    action: str
    target_type: str
    target_id: str | None
    ip: str | None
    detail: dict[str, Any]


class AuditPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    entries: list[AuditEntryOut]
