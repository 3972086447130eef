"""Data scope: the one chokepoint through which reads of scoped data pass.

A guide sees only the customers assigned to them, a store manager only their store's
data (DESIGN.md convention 6). Each domain registers, per model, how a scope filters
its rows; ``scoped()`` applies it. A model with no registered rule is invisible to a
restricted scope: forgetting to register fails closed, never open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Select, false

from siyu.models.staff import Role, Staff
from siyu.staff.principal import Principal


class ScopeKind(StrEnum):
    ALL = "all"
    STORE = "store"
    OWN = "own"
    NONE = "none"


@dataclass(frozen=True)
class DataScope:
    kind: ScopeKind
    staff_id: int | None = None
    store_id: int | None = None


# Roles that work across the whole brand, in order of precedence.
_UNRESTRICTED_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.ANALYST})


def scope_for(principal: Principal) -> DataScope:
    if principal.roles & _UNRESTRICTED_ROLES:
        return DataScope(ScopeKind.ALL)
    if Role.STORE_MANAGER in principal.roles:
        if principal.store_id is None:
            return DataScope(ScopeKind.NONE)
        return DataScope(ScopeKind.STORE, staff_id=principal.staff_id, store_id=principal.store_id)
    if Role.GUIDE in principal.roles and principal.staff_id is not None:
        return DataScope(ScopeKind.OWN, staff_id=principal.staff_id, store_id=principal.store_id)
    return DataScope(ScopeKind.NONE)


ScopeRule = Callable[[Select[Any], DataScope], Select[Any]]
_rules: dict[type, ScopeRule] = {}

RuleT = TypeVar("RuleT", bound=ScopeRule)


def register_scope(model: type) -> Callable[[RuleT], RuleT]:
    def decorator(rule: RuleT) -> RuleT:
        if model in _rules:
            raise ValueError(f"a scope rule for {model.__name__} is already registered")
        _rules[model] = rule
        return rule

    return decorator


def scoped(statement: Select[Any], model: type, principal: Principal) -> Select[Any]:
    scope = scope_for(principal)
    if scope.kind is ScopeKind.ALL:
        return statement
    rule = _rules.get(model)
    if scope.kind is ScopeKind.NONE or rule is None:
        return statement.where(false())
    return rule(statement, scope)


@register_scope(Staff)
def _staff_scope(statement: Select[Any], scope: DataScope) -> Select[Any]:
    if scope.kind is ScopeKind.STORE:
        return statement.where(Staff.store_id == scope.store_id)
    return statement.where(Staff.id == scope.staff_id)
