"""When two customers merge, their orders and carts become the survivor's.

Registered as synchronous re-pointers (``siyu.customers.merge``), so a merged
customer's orders move in the same transaction as the merge itself.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.core.db import rowcount
from siyu.customers.merge import register_repointer
from siyu.models.order import CartItem, Order


def _repoint_orders(session: Session, survivor_id: int, merged_id: int) -> int:
    result = session.execute(
        update(Order)
        .where(Order.customer_id == merged_id)
        .values(customer_id=survivor_id)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)


def _merge_carts(session: Session, survivor_id: int, merged_id: int) -> int:
    """Move the merged cart's items; a SKU in both carts keeps the larger quantity
    (the same person put it in twice from two devices, not two separate wishes)."""
    survivor_items = {
        item.sku_id: item
        for item in session.scalars(select(CartItem).where(CartItem.customer_id == survivor_id))
    }
    moved = 0
    for item in session.scalars(select(CartItem).where(CartItem.customer_id == merged_id)).all():
        existing = survivor_items.get(item.sku_id)
        if existing is not None:
            existing.quantity = max(existing.quantity, item.quantity)
            existing.updated_at = clock.now()
        else:
            session.add(
                CartItem(
                    customer_id=survivor_id,
                    sku_id=item.sku_id,
                    quantity=item.quantity,
                    is_selected=item.is_selected,
                    added_at=item.added_at,
                    updated_at=clock.now(),
                )
            )
        moved += 1
    session.flush()
    session.execute(delete(CartItem).where(CartItem.customer_id == merged_id))
    return moved


register_repointer("order", _repoint_orders)
register_repointer("cart_item", _merge_carts)
