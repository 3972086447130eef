"""Tag API under /api/v1/audiences/tags: groups, tags, tagging customers, history.

Groups and tags need ``audiences.manage``; reading the tag list needs
``customers.read`` (guides pick from it); tagging needs ``customers.write`` or
``audiences.manage`` and reaches only the caller's customers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from siyu.audiences.tags import manage
from siyu.audiences.tags.schemas import (
    TaggingIn,
    TaggingOut,
    TagGroupIn,
    TagGroupOut,
    TagGroupUpdate,
    TagHistoryOut,
    TagIn,
    TagList,
    TagOut,
    TagRefreshOut,
    TagUpdate,
)
from siyu.core import clock
from siyu.core.errors import PermissionDenied
from siyu.core.http import SessionDep, SettingsDep
from siyu.core.pagination import DEFAULT_LIMIT, check_limit
from siyu.customers.errors import CustomerNotFound
from siyu.staff.auth import PrincipalDep, require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal

router = APIRouter(prefix="/api/v1/audiences/tags", tags=["audiences"])

Manager = Annotated[Principal, Depends(require(Permission.AUDIENCES_MANAGE))]
Reader = Annotated[Principal, Depends(require(Permission.CUSTOMERS_READ))]
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def _tagger(principal: PrincipalDep) -> Principal:
    if not (
        principal.has(Permission.CUSTOMERS_WRITE) or principal.has(Permission.AUDIENCES_MANAGE)
    ):
        raise PermissionDenied()
    return principal


Tagger = Annotated[Principal, Depends(_tagger)]


@router.get("", response_model=TagList)
def list_tags(
    session: SessionDep, _principal: Reader, group: str | None = Query(None, max_length=64)
) -> TagList:
    return TagList(
        groups=manage.list_groups(session),
        items=[TagOut.model_validate(tag) for tag in manage.list_tags(session, group_name=group)],
    )


@router.post("/groups", response_model=TagGroupOut, status_code=201)
def create_group(body: TagGroupIn, session: SessionDep, principal: Manager) -> TagGroupOut:
    return TagGroupOut.model_validate(manage.create_group(session, principal, body))


@router.patch("/groups/{group_id}", response_model=TagGroupOut)
def update_group(
    group_id: RowId, body: TagGroupUpdate, session: SessionDep, principal: Manager
) -> TagGroupOut:
    return TagGroupOut.model_validate(manage.update_group(session, principal, group_id, body))


@router.delete("/groups/{group_id}", status_code=204)
def delete_group(group_id: RowId, session: SessionDep, principal: Manager) -> Response:
    manage.delete_group(session, principal, group_id)
    return Response(status_code=204)


@router.post("", response_model=TagOut, status_code=201)
def create_tag(body: TagIn, session: SessionDep, principal: Manager) -> TagOut:
    return TagOut.model_validate(manage.create_tag(session, principal, body))


@router.get("/customers/{customer_id}/history", response_model=TagHistoryOut)
def customer_history(
    customer_id: RowId,
    session: SessionDep,
    principal: Reader,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = Query(None, max_length=100),
) -> TagHistoryOut:
    check_limit(limit)
    if not manage.visible_customer(session, principal, customer_id):
        raise CustomerNotFound(data={"customer_id": customer_id})
    items, next_cursor = manage.history(session, customer_id, limit=limit, cursor=cursor)
    return TagHistoryOut(customer_id=customer_id, items=items, next_cursor=next_cursor)


@router.get("/{tag_id}", response_model=TagOut)
def get_tag(tag_id: RowId, session: SessionDep, _principal: Reader) -> TagOut:
    return TagOut.model_validate(manage.get_tag(session, tag_id))


@router.patch("/{tag_id}", response_model=TagOut)
def update_tag(tag_id: RowId, body: TagUpdate, session: SessionDep, principal: Manager) -> TagOut:
    return TagOut.model_validate(manage.update_tag(session, principal, tag_id, body))


@router.delete("/{tag_id}", status_code=204)
def delete_tag(tag_id: RowId, session: SessionDep, principal: Manager) -> Response:
    manage.delete_tag(session, principal, tag_id)
    return Response(status_code=204)


@router.post("/{tag_id}/customers", response_model=TaggingOut)
def add_to_customers(
    tag_id: RowId, body: TaggingIn, session: SessionDep, principal: Tagger
) -> TaggingOut:
    return manage.tag_customers(session, principal, tag_id, body.customer_ids, add=True)


@router.post("/{tag_id}/customers/remove", response_model=TaggingOut)
def remove_from_customers(
    tag_id: RowId, body: TaggingIn, session: SessionDep, principal: Tagger
) -> TaggingOut:
    return manage.tag_customers(session, principal, tag_id, body.customer_ids, add=False)


@router.post("/{tag_id}/refresh", response_model=TagRefreshOut)
def refresh_tag(
    tag_id: RowId, session: SessionDep, settings: SettingsDep, principal: Manager
) -> TagRefreshOut:
    """Re-evaluate one rule tag now against the warehouse."""
    from siyu.audiences import refresh
    from siyu.warehouse.engine import Warehouse

    tag = manage.get_tag(session, tag_id)
    added, removed = refresh.refresh_rule_tag(
        session, Warehouse.from_settings(settings), tag, now=clock.now(), actor=principal
    )
    session.refresh(tag)
    return TagRefreshOut(
        tag_id=tag.id, added=added, removed=removed, customer_count=tag.customer_count
    )
