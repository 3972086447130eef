"""The category tree: create, rename, move, switch off, delete.

Names are unique among siblings (the database enforces it below a parent; top-level
names are checked here because NULL parents never collide in a unique index). A
category moves anywhere except below itself, and is deleted only while nothing hangs
off it (no sub-categories, no products).
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.catalog.errors import CatalogConflict, CatalogNotFound, InvalidCatalogInput
from siyu.catalog.schemas import CategoryIn, CategoryUpdate
from siyu.models.catalog import Category, Product
from siyu.staff import audit
from siyu.staff.principal import Principal


def list_categories(session: Session, *, active_only: bool = False) -> list[Category]:
    statement = select(Category).order_by(Category.sort_order, Category.id)
    if active_only:
        statement = statement.where(Category.is_active.is_(True))
    return list(session.scalars(statement))


def get_category(session: Session, category_id: int) -> Category:
    category = session.get(Category, category_id)
    if category is None:
        raise CatalogNotFound(data={"category_id": category_id})
    return category


def require_category(session: Session, category_id: int | None) -> None:
    """A product's category must exist (``catalog.invalid`` with the field otherwise)."""
    if category_id is not None and session.get(Category, category_id) is None:
        raise InvalidCatalogInput(
            "No such category.", data={"field": "category_id", "category_id": category_id}
        )


def _check_parent(session: Session, parent_id: int | None, *, moving: int | None) -> None:
    if parent_id is None:
        return
    parent = session.get(Category, parent_id)
    if parent is None:
        raise InvalidCatalogInput(
            "No such parent category.", data={"field": "parent_id", "parent_id": parent_id}
        )
    # Walk up from the new parent: meeting the moved category means a cycle.
    seen: set[int] = set()
    current: Category | None = parent
    while current is not None and current.id not in seen:
        if current.id == moving:
            raise InvalidCatalogInput(
                "A category cannot move below itself.", data={"field": "parent_id"}
            )
        seen.add(current.id)
        current = session.get(Category, current.parent_id) if current.parent_id else None


def _check_name_free(
    session: Session, name: str, parent_id: int | None, *, except_id: int | None
) -> None:
    statement = select(Category.id).where(
        Category.name == name,
        Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id,
    )
    if except_id is not None:
        statement = statement.where(Category.id != except_id)
    if session.scalar(statement) is not None:
        raise CatalogConflict(
            "A category with that name already exists here.", data={"field": "name", "name": name}
        )


def _flush(session: Session, category: Category) -> None:
    # The savepoint turns a race on (parent, name) into the same 409 as the check.
    try:
        with session.begin_nested():
            session.add(category)
            session.flush()
    except IntegrityError as error:
        raise CatalogConflict(data={"field": "name", "name": category.name}) from error


def create_category(session: Session, actor: Principal, data: CategoryIn) -> Category:
    name = data.name.strip()
    if not name:
        raise InvalidCatalogInput("A category needs a name.", data={"field": "name"})
    _check_parent(session, data.parent_id, moving=None)
    _check_name_free(session, name, data.parent_id, except_id=None)
    category = Category(
        name=name, parent_id=data.parent_id, sort_order=data.sort_order, is_active=data.is_active
    )
    _flush(session, category)
    audit.record(
        session,
        actor,
        "catalog.category.create",
        target_type="category",
        target_id=category.id,
        detail={"name": name, "parent_id": data.parent_id},
    )
    return category


def update_category(
    session: Session, actor: Principal, category_id: int, data: CategoryUpdate
) -> Category:
    category = get_category(session, category_id)
    sent = data.model_fields_set
    name = data.name.strip() if data.name is not None else category.name
    if not name:
        raise InvalidCatalogInput("A category needs a name.", data={"field": "name"})
    parent_id = data.parent_id if "parent_id" in sent else category.parent_id
    if "parent_id" in sent:
        _check_parent(session, parent_id, moving=category.id)
    if name != category.name or parent_id != category.parent_id:
        _check_name_free(session, name, parent_id, except_id=category.id)
    changes: dict[str, object] = {}
    if name != category.name:
        changes["name"] = name
    if parent_id != category.parent_id:
        changes["parent_id"] = parent_id
    if data.sort_order is not None and data.sort_order != category.sort_order:
        changes["sort_order"] = data.sort_order
    if data.is_active is not None and data.is_active != category.is_active:
        changes["is_active"] = data.is_active
    for key, value in changes.items():
        setattr(category, key, value)
    _flush(session, category)
    if changes:
        audit.record(
            session,
            actor,
            "catalog.category.update",
            target_type="category",
            target_id=category.id,
            detail=changes,
        )
    return category


def delete_category(session: Session, actor: Principal, category_id: int) -> None:
    category = get_category(session, category_id)
    children = session.scalar(
        select(func.count()).select_from(Category).where(Category.parent_id == category.id)
    )
    products = session.scalar(
        select(func.count()).select_from(Product).where(Product.category_id == category.id)
    )
    if children or products:
        raise CatalogConflict(
            "Only an empty category can be deleted; move its products and sub-categories first.",
            data={"category_id": category.id, "children": children, "products": products},
        )
    session.delete(category)
    session.flush()
    audit.record(
        session,
        actor,
        "catalog.category.delete",
        target_type="category",
        target_id=category_id,
        detail={"name": category.name},
    )
