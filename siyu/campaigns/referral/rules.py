"""Commission rules and what a line earns.

A rule names a scope (the default, a category, a product), a mode (a rate in basis
points of the line's payable amount, or fixed fen per unit) and a value for each of
the two levels. For a line the most specific rule wins: product, then category, then
the default. Amounts round down to the fen and never exceed what the line cost.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.campaigns.referral.errors import InvalidRule, RuleNotFound
from siyu.campaigns.referral.schemas import RuleIn
from siyu.core import clock
from siyu.core.db import dialect_insert
from siyu.models.catalog import Category, Product
from siyu.models.referral import CommissionMode, CommissionRule, RuleScope
from siyu.staff import audit
from siyu.staff.principal import Principal

RATE_DENOMINATOR = 10_000


def _check(session: Session, body: RuleIn) -> None:
    if (body.scope == RuleScope.DEFAULT) != (body.target_id is None):
        raise InvalidRule(
            "The default rule has no target; category and product rules need one.",
            data={"field": "target_id"},
        )
    if (
        body.mode == CommissionMode.RATE
        and body.level1_value + body.level2_value > RATE_DENOMINATOR
    ):
        raise InvalidRule(
            "Both levels together may pay at most the whole price.",
            data={"field": "level1_value"},
        )
    model = {RuleScope.CATEGORY: Category, RuleScope.PRODUCT: Product}.get(body.scope)
    if model is not None and session.get(model, body.target_id) is None:
        raise InvalidRule(f"No such {body.scope.value}.", data={"field": "target_id"})


def put(session: Session, actor: Principal, campaign_id: int, body: RuleIn) -> CommissionRule:
    """Create or replace the rule for (scope, target): an upsert on the unique key, so
    two operators saving the same rule at once leave one row."""
    _check(session, body)
    now = clock.now()
    values = {
        "campaign_id": campaign_id,
        "scope": body.scope.value,
        "target_id": body.target_id,
        "mode": body.mode.value,
        "level1_value": body.level1_value,
        "level2_value": body.level2_value,
        "created_at": now,
        "updated_at": now,
    }
    existing = _find(session, campaign_id, body.scope, body.target_id)
    if existing is None:
        session.execute(
            dialect_insert(session, CommissionRule).values(**values).on_conflict_do_nothing()
        )
        existing = _find(session, campaign_id, body.scope, body.target_id)
    assert existing is not None
    existing.mode = body.mode.value
    existing.level1_value = body.level1_value
    existing.level2_value = body.level2_value
    existing.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "referral.rule_saved",
        target_type="commission_rule",
        target_id=existing.id,
        detail=body.model_dump(mode="json"),
    )
    return existing


def _find(
    session: Session, campaign_id: int, scope: RuleScope, target_id: int | None
) -> CommissionRule | None:
    statement = select(CommissionRule).where(
        CommissionRule.campaign_id == campaign_id, CommissionRule.scope == scope.value
    )
    statement = statement.where(
        CommissionRule.target_id.is_(None)
        if target_id is None
        else CommissionRule.target_id == target_id
    )
    return session.scalars(statement).first()


def remove(session: Session, actor: Principal, campaign_id: int, rule_id: int) -> None:
    rule = session.get(CommissionRule, rule_id)
    if rule is None or rule.campaign_id != campaign_id:
        raise RuleNotFound(data={"rule_id": rule_id})
    if rule.scope == RuleScope.DEFAULT:
        raise InvalidRule(
            "The default rule can be changed, not removed.", data={"rule_id": rule_id}
        )
    session.execute(delete(CommissionRule).where(CommissionRule.id == rule_id))
    audit.record(
        session, actor, "referral.rule_removed", target_type="commission_rule", target_id=rule_id
    )


def list_rules(session: Session, campaign_id: int) -> list[CommissionRule]:
    return list(
        session.scalars(
            select(CommissionRule)
            .where(CommissionRule.campaign_id == campaign_id)
            .order_by(CommissionRule.scope.desc(), CommissionRule.target_id, CommissionRule.id)
        )
    )


@dataclass(frozen=True)
class RuleBook:
    default: CommissionRule | None
    by_product: dict[int, CommissionRule]
    by_category: dict[int, CommissionRule]

    def for_line(self, product_id: int | None, category_id: int | None) -> CommissionRule | None:
        if product_id is not None and product_id in self.by_product:
            return self.by_product[product_id]
        if category_id is not None and category_id in self.by_category:
            return self.by_category[category_id]
        return self.default


def book(session: Session, campaign_id: int) -> RuleBook:
    rows = list_rules(session, campaign_id)
    return RuleBook(
        default=next((row for row in rows if row.scope == RuleScope.DEFAULT), None),
        by_product={
            row.target_id: row
            for row in rows
            if row.scope == RuleScope.PRODUCT and row.target_id is not None
        },
        by_category={
            row.target_id: row
            for row in rows
            if row.scope == RuleScope.CATEGORY and row.target_id is not None
        },
    )


def amount_for(rule: CommissionRule, level: int, payable_amount: int, quantity: int) -> int:
    """What ``level`` earns on a line: ⌊payable × rate / 10000⌋ or fixed × units,
    never more than the line's payable amount."""
    value = rule.level1_value if level == 1 else rule.level2_value
    if rule.mode == CommissionMode.RATE:
        earned = payable_amount * value // RATE_DENOMINATOR
    else:
        earned = value * quantity
    return max(0, min(earned, payable_amount))


def describe(rule: CommissionRule, level: int) -> str:
    value = rule.level1_value if level == 1 else rule.level2_value
    return f"{rule.scope}:{rule.mode}:{value}"
