"""Who may see which orders: the data-scope rule for the order table.

A store manager sees the orders of their store (attributed to it, or picked up
there); a guide the orders attributed to them (DESIGN.md convention 6).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, or_

from siyu.models.order import Order
from siyu.staff.scope import DataScope, ScopeKind, register_scope


@register_scope(Order)
def order_scope(statement: Select[Any], scope: DataScope) -> Select[Any]:
    if scope.kind is ScopeKind.STORE:
        return statement.where(
            or_(Order.store_id == scope.store_id, Order.pickup_location_id == scope.store_id)
        )
    return statement.where(Order.guide_id == scope.staff_id)
