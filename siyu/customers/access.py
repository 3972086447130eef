"""Who may see which customers: the data-scope rule for the customer table.

A guide sees the customers assigned to them; a store manager the customers of their
store (DESIGN.md convention 6). Every customer read starts from
``scoped(select(Customer), Customer, principal)``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from siyu.models.customer import Customer
from siyu.staff.scope import DataScope, ScopeKind, register_scope


@register_scope(Customer)
def customer_scope(statement: Select[Any], scope: DataScope) -> Select[Any]:
    if scope.kind is ScopeKind.STORE:
        return statement.where(Customer.store_id == scope.store_id)
    return statement.where(Customer.guide_id == scope.staff_id)
