"""Console routes of the rule builder (templates/audiences/rule_builder.html) and the
rule playground at /console/audiences/rules/try (规则试算): build a rule, see its
count, text and a sample of customers without saving anything.

The builder's JSON endpoints use the console session (cookie + CSRF header) and the
same services as /api/v1/audiences/rules; everything needs ``audiences.manage``.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from fastapi.responses import HTMLResponse, JSONResponse
from sqlalchemy import select

from siyu.audiences.errors import RuleInvalid
from siyu.audiences.rules import fields as catalogue
from siyu.audiences.rules.parse import parse
from siyu.audiences.rules.preview import preview
from siyu.core import clock
from siyu.core.http import SessionDep
from siyu.core.settings import current as current_settings
from siyu.models.customer import Tag
from siyu.staff.permissions import Permission
from siyu.warehouse.engine import Warehouse
from siyu.web.console.deps import ConsolePage, page_requiring

router = APIRouter()

ManagePage = Annotated[ConsolePage, Depends(page_requiring(Permission.AUDIENCES_MANAGE))]
BASE = "/console/audiences/rules"
ACTIVE = "audiences"
# The builder lists tags in a select; a brand with more types the id of the rest.
MAX_TAGS = 1000
EXAMPLE_RULE: dict[str, Any] = {
    "all": [
        {
            "event": "product_view",
            "where": [{"property": "category", "op": "=", "value": "口红"}],
            "count": {"op": ">=", "value": 3},
            "window": {"days": 7},
        },
        {"event": "order", "count": {"op": "=", "value": 0}, "window": {"days": 7}},
    ]
}


@router.get(BASE + "/try")
def rules_try(page: ManagePage) -> HTMLResponse:
    return page.render(
        "audiences/rules_try.html",
        active=ACTIVE,
        rule_json=json.dumps(EXAMPLE_RULE, ensure_ascii=False),
    )


@router.get(BASE + "/fields")
def rules_fields(_page: ManagePage, session: SessionDep) -> JSONResponse:
    """The field catalogue plus the brand's tags, for the builder's selects."""
    tags = session.execute(
        select(Tag.id, Tag.group_name, Tag.name).order_by(Tag.group_name, Tag.name).limit(MAX_TAGS)
    ).all()
    data = catalogue.catalogue()
    data["tags"] = [
        {"id": row.id, "name": f"{row.group_name}/{row.name}" if row.group_name else row.name}
        for row in tags
    ]
    return JSONResponse(data)


@router.post(BASE + "/preview")
def rules_preview(
    page: ManagePage, session: SessionDep, body: Annotated[dict[str, Any], Body()]
) -> JSONResponse:
    """Count, readable text and sample of a rule as JSON; a bad rule answers 400 with
    the path and reason the builder shows next to the rule."""
    try:
        rule = parse(body.get("rule"), session=session)
    except RuleInvalid as error:
        return JSONResponse({"error": error.data}, status_code=400)
    result = preview(
        session,
        Warehouse.from_settings(current_settings()),
        rule,
        now=clock.now(),
        principal=page.principal,
        locale=page.t.language,
    )
    return JSONResponse(result.model_dump())
