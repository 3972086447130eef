"""Points-mall items: what members can exchange points (or points + cash) for.

An item is goods (a SKU sold through the mall, ordered through checkout so fulfilment
and refunds work as for any order) or a coupon (issued at once). Operators create
items as drafts, activate them and take them off; stock only grows through
``restock`` (``stock_left`` and ``stock_total`` together) and only shrinks through
exchanges, which take it with one conditional UPDATE (see ``points_mall_exchange``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.catalog import prices
from siyu.catalog.errors import SkuUnavailable
from siyu.catalog.products import check_image_url
from siyu.core import clock
from siyu.members.points_mall_errors import InvalidItem, ItemNotFound
from siyu.members.points_mall_schemas import ItemFields, ItemIn, ItemUpdate
from siyu.models.base import new_public_id
from siyu.models.catalog import SalesChannel
from siyu.models.coupon import CouponTemplate
from siyu.models.member import PointsMallItem, PointsMallItemKind
from siyu.staff import audit
from siyu.staff.principal import Principal

DRAFT = "draft"
ACTIVE = "active"
OFF = "off"


def get(session: Session, item_id: int) -> PointsMallItem:
    item = session.get(PointsMallItem, item_id)
    if item is None:
        raise ItemNotFound(data={"item_id": item_id})
    return item


def get_by_public_id(session: Session, public_id: str) -> PointsMallItem:
    item = session.scalars(
        select(PointsMallItem).where(PointsMallItem.public_id == public_id)
    ).first()
    if item is None:
        raise ItemNotFound(data={"item_id": public_id})
    return item


def list_items(session: Session, *, status: str | None = None) -> list[PointsMallItem]:
    statement = select(PointsMallItem).order_by(PointsMallItem.sort.desc(), PointsMallItem.id)
    if status:
        statement = statement.where(PointsMallItem.status == status)
    return list(session.scalars(statement))


def _check_target(session: Session, kind: str, sku_id: int | None, template_id: int | None) -> None:
    """Goods need a SKU the mall sells now; coupon items need an existing template."""
    if kind == PointsMallItemKind.GOODS:
        if sku_id is None or template_id is not None:
            raise InvalidItem("A goods item names a SKU and no coupon.", data={"field": "sku_id"})
        try:
            prices.sellable_skus(session, [sku_id], channel=SalesChannel.MALL)
        except SkuUnavailable as error:
            raise InvalidItem(
                "The SKU is not sold in the mall.",
                data={"field": "sku_id", "reason": error.data.get("reason")},
            ) from error
        return
    if template_id is None or sku_id is not None:
        raise InvalidItem(
            "A coupon item names a coupon template and no SKU.",
            data={"field": "coupon_template_id"},
        )
    if session.get(CouponTemplate, template_id) is None:
        raise InvalidItem("No such coupon template.", data={"field": "coupon_template_id"})


def _check_window(valid_from: datetime | None, valid_until: datetime | None) -> None:
    if valid_from and valid_until and valid_until <= valid_from:
        raise InvalidItem(
            "The validity window ends before it starts.", data={"field": "valid_until"}
        )


def _changes(fields: ItemFields) -> dict[str, Any]:
    values = fields.model_dump(exclude_unset=True)
    if values.get("image"):
        values["image"] = check_image_url(values["image"], "image")
    for name in ("name", "description", "points_price", "cash_price", "sort"):
        if name in values and values[name] is None:
            raise InvalidItem(f"{name} cannot be empty.", data={"field": name})
    return values


def create(session: Session, actor: Principal, body: ItemIn) -> PointsMallItem:
    values = _changes(body)
    values.setdefault("description", "")
    values.setdefault("sort", 0)
    values.setdefault("cash_price", 0)
    _check_target(session, body.kind, body.sku_id, body.coupon_template_id)
    _check_window(body.valid_from, body.valid_until)
    values["kind"] = body.kind.value
    item = PointsMallItem(
        public_id=new_public_id("pmi"),
        status=DRAFT,
        stock_left=body.stock_total,
        **values,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor,
        "points_mall.item.create",
        target_type="points_mall_item",
        target_id=item.id,
        detail={"name": item.name, "kind": item.kind, "points_price": item.points_price},
    )
    return item


def update_item(
    session: Session, actor: Principal, item_id: int, body: ItemUpdate
) -> PointsMallItem:
    item = get(session, item_id)
    values = _changes(body)
    sku_id = values.get("sku_id", item.sku_id)
    template_id = values.get("coupon_template_id", item.coupon_template_id)
    if "sku_id" in values or "coupon_template_id" in values:
        _check_target(session, item.kind, sku_id, template_id)
    _check_window(
        values.get("valid_from", item.valid_from), values.get("valid_until", item.valid_until)
    )
    changed = {key: value for key, value in values.items() if getattr(item, key) != value}
    for key, value in changed.items():
        setattr(item, key, value)
    item.updated_at = clock.now()
    session.flush()
    if changed:
        audit.record(
            session,
            actor,
            "points_mall.item.update",
            target_type="points_mall_item",
            target_id=item.id,
            detail={key: str(value) for key, value in changed.items()},
        )
    return item


def set_status(session: Session, actor: Principal, item_id: int, status: str) -> PointsMallItem:
    item = get(session, item_id)
    if status == ACTIVE and item.kind == PointsMallItemKind.GOODS and item.sku_id is not None:
        _check_target(session, item.kind, item.sku_id, None)
    previous = item.status
    item.status = status
    item.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        f"points_mall.item.{'activate' if status == ACTIVE else 'off'}",
        target_type="points_mall_item",
        target_id=item.id,
        detail={"from": previous, "to": status},
    )
    return item


def restock(session: Session, actor: Principal, item_id: int, quantity: int) -> PointsMallItem:
    """Add ``quantity`` units: both counters in one UPDATE, so a racing exchange that
    takes ``stock_left`` never sees ``stock_left > stock_total``."""
    item = get(session, item_id)
    session.execute(
        update(PointsMallItem)
        .where(PointsMallItem.id == item.id)
        .values(
            stock_total=PointsMallItem.stock_total + quantity,
            stock_left=PointsMallItem.stock_left + quantity,
            updated_at=clock.now(),
        )
    )
    session.refresh(item)
    audit.record(
        session,
        actor,
        "points_mall.item.restock",
        target_type="points_mall_item",
        target_id=item.id,
        detail={"quantity": quantity, "stock_left": item.stock_left},
    )
    return item


def count_active(session: Session) -> int:
    return (
        session.scalar(
            select(func.count()).select_from(PointsMallItem).where(PointsMallItem.status == ACTIVE)
        )
        or 0
    )
