"""Rule API under /api/v1/audiences/rules: the field catalogue for the builder, and
validating or previewing a rule before it is saved in a segment or a rule tag.
Everything needs ``audiences.manage``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from siyu.audiences.rules.describe import describe
from siyu.audiences.rules.fields import catalogue
from siyu.audiences.rules.parse import parse, referenced_tag_ids
from siyu.audiences.rules.preview import preview, tag_names
from siyu.audiences.rules.schemas import RuleIn, RulePreviewOut, RuleTextOut, RuleValidOut
from siyu.core import clock
from siyu.core.http import SessionDep, SettingsDep
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.warehouse.engine import Warehouse

router = APIRouter(prefix="/api/v1/audiences/rules", tags=["audiences"])

Manager = Annotated[Principal, Depends(require(Permission.AUDIENCES_MANAGE))]


@router.get("/fields")
def rule_fields(_principal: Manager) -> dict[str, Any]:
    return catalogue()


@router.post("/validate", response_model=RuleValidOut)
def validate_rule(body: RuleIn, session: SessionDep, _principal: Manager) -> RuleValidOut:
    rule = parse(body.rule, session=session)
    tag_ids = referenced_tag_ids(rule)
    names = tag_names(session, tag_ids)
    return RuleValidOut(
        valid=True,
        text=RuleTextOut(
            zh=describe(rule, locale="zh-CN", tag_names=names),
            en=describe(rule, locale="en", tag_names=names),
        ),
        tag_ids=sorted(tag_ids),
    )


@router.post("/preview", response_model=RulePreviewOut)
def preview_rule(
    body: RuleIn, session: SessionDep, settings: SettingsDep, principal: Manager
) -> RulePreviewOut:
    rule = parse(body.rule, session=session)
    return preview(
        session,
        Warehouse.from_settings(settings),
        rule,
        now=clock.now(),
        principal=principal,
        locale=body.locale,
    )
