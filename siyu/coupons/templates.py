"""Coupon templates: create, edit, activate / pause / end (audited operator writes).

Once a coupon has been issued, the fields that define what it promises (kind,
amounts, scope, gift, validity kind) are locked: a buyer's coupon must not change
meaning in their wallet. Names, limits, windows and the coupon-centre flag stay
editable; the quantity may grow but never drop below what was issued.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.core import clock
from siyu.coupons import rules
from siyu.coupons.errors import TemplateLocked, TemplateNotFound, TemplateStateConflict
from siyu.coupons.schemas import TemplateIn, TemplateUpdate
from siyu.models.base import new_public_id
from siyu.models.coupon import CouponTemplate, TemplateStatus
from siyu.staff import audit
from siyu.staff.principal import Principal

LOCKED_FIELDS = frozenset(
    {
        "kind",
        "threshold_amount",
        "discount_amount",
        "discount_rate",
        "max_discount_amount",
        "gift_sku_id",
        "scope",
        "scope_ids",
        "validity",
        "valid_days",
    }
)
# Which status each action may start from.
TRANSITIONS: dict[str, tuple[frozenset[TemplateStatus], TemplateStatus]] = {
    "activate": (frozenset({TemplateStatus.DRAFT, TemplateStatus.PAUSED}), TemplateStatus.ACTIVE),
    "pause": (frozenset({TemplateStatus.ACTIVE}), TemplateStatus.PAUSED),
    "end": (
        frozenset({TemplateStatus.DRAFT, TemplateStatus.ACTIVE, TemplateStatus.PAUSED}),
        TemplateStatus.ENDED,
    ),
}


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if hasattr(value, "isoformat") else value
        for key, value in values.items()
    }


def get(session: Session, template_id: int) -> CouponTemplate:
    template = session.get(CouponTemplate, template_id)
    if template is None:
        raise TemplateNotFound(data={"template_id": template_id})
    return template


def by_public_id(session: Session, public_id: str) -> CouponTemplate:
    template = session.scalars(
        select(CouponTemplate).where(CouponTemplate.public_id == public_id)
    ).first()
    if template is None:
        raise TemplateNotFound(data={"template_id": public_id})
    return template


def shared(session: Session, public_id: str) -> CouponTemplate:
    """The template behind a share link: a draft is not shared yet, so for buyers it
    does not exist."""
    template = by_public_id(session, public_id)
    if template.status == TemplateStatus.DRAFT:
        raise TemplateNotFound(data={"template_id": public_id})
    return template


def list_templates(session: Session, *, status: str | None = None) -> list[CouponTemplate]:
    statement = select(CouponTemplate).order_by(CouponTemplate.id.desc())
    if status:
        statement = statement.where(CouponTemplate.status == status)
    return list(session.scalars(statement))


def create(session: Session, actor: Principal, data: TemplateIn) -> CouponTemplate:
    now = clock.now()
    values = data.model_dump()
    values["stackable_with"] = [str(kind) for kind in data.stackable_with]
    template = CouponTemplate(
        public_id=new_public_id("cpt"),
        status=TemplateStatus.DRAFT,
        issued_count=0,
        created_by=actor.username[:64],
        created_at=now,
        updated_at=now,
        **values,
    )
    rules.validate(session, template)
    session.add(template)
    session.flush()
    audit.record(
        session,
        actor,
        "coupon.template_create",
        target_type="coupon_template",
        target_id=template.id,
        detail={"name": template.name, "kind": template.kind},
    )
    return template


def update(
    session: Session, actor: Principal, template_id: int, data: TemplateUpdate
) -> CouponTemplate:
    template = get(session, template_id)
    if template.status == TemplateStatus.ENDED:
        raise TemplateStateConflict(data={"status": template.status})
    changes = data.model_dump(exclude_unset=True)
    if "stackable_with" in changes and changes["stackable_with"] is not None:
        changes["stackable_with"] = [str(kind) for kind in changes["stackable_with"]]
    changed = {key: value for key, value in changes.items() if getattr(template, key) != value}
    locked = sorted(set(changed) & LOCKED_FIELDS)
    if locked and template.issued_count > 0:
        raise TemplateLocked(data={"fields": locked})
    for key, value in changed.items():
        setattr(template, key, value)
    # Validate the result as a whole: a PATCH of one field may contradict another.
    rules.validate(session, template)
    template.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        "coupon.template_update",
        target_type="coupon_template",
        target_id=template.id,
        detail=_jsonable(changed),
    )
    return template


def transition(session: Session, actor: Principal, template_id: int, action: str) -> CouponTemplate:
    sources, target = TRANSITIONS[action]
    template = get(session, template_id)
    if template.status not in sources:
        raise TemplateStateConflict(data={"status": template.status, "action": action})
    if target == TemplateStatus.ACTIVE:
        rules.validate(session, template)
    previous = template.status
    template.status = target
    template.updated_at = clock.now()
    session.flush()
    audit.record(
        session,
        actor,
        f"coupon.template_{action}",
        target_type="coupon_template",
        target_id=template.id,
        detail={"from": previous, "to": target.value},
    )
    if target == TemplateStatus.ACTIVE:
        # The daily expiry and reminder chain starts with the first active template.
        from siyu.coupons import expiry

        expiry.schedule(session)
    return template
