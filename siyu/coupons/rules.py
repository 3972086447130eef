"""The rules of a coupon template as data: validation per kind, scope, and the
human-readable summary shown to operators and buyers.

Everything that decides whether a coupon fits an order is read from the template's
columns here, so what the console shows (``summary``) and what checkout enforces
(``siyu.coupons.pricing``) come from the same fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.coupons.errors import InvalidTemplate
from siyu.models.catalog import Category, Product, Sku
from siyu.models.coupon import CouponKind, CouponScope, CouponTemplate, ValidityKind
from siyu.models.location import Location, LocationKind

CHANNELS = ("mall", "store")
KIND_NAMES = {
    CouponKind.THRESHOLD: ("满减券", "threshold"),
    CouponKind.PERCENT_OFF: ("折扣券", "percent-off"),
    CouponKind.NO_THRESHOLD: ("无门槛券", "no-threshold"),
    CouponKind.GIFT: ("兑换券", "gift"),
    CouponKind.FREE_SHIPPING: ("免运费券", "free shipping"),
}
CHANNEL_NAMES = {"mall": ("商城", "mall"), "store": ("门店", "store")}


def _invalid(field: str, message: str) -> InvalidTemplate:
    return InvalidTemplate(message, data={"field": field})


def _check_kind(template: CouponTemplate) -> None:
    kind = template.kind
    if kind == CouponKind.THRESHOLD:
        if template.discount_amount <= 0:
            raise _invalid("discount_amount", "A threshold coupon needs a discount.")
        if template.threshold_amount <= template.discount_amount:
            raise _invalid("threshold_amount", "The threshold must be larger than the discount.")
    elif kind == CouponKind.NO_THRESHOLD:
        if template.discount_amount <= 0:
            raise _invalid("discount_amount", "A no-threshold coupon needs a discount.")
        if template.threshold_amount != 0:
            raise _invalid("threshold_amount", "A no-threshold coupon has no threshold.")
    elif kind == CouponKind.PERCENT_OFF:
        if template.discount_rate is None or not 1 <= template.discount_rate <= 9999:
            raise _invalid("discount_rate", "A percent-off coupon needs a rate of 1–9999.")
        if template.max_discount_amount is not None and template.max_discount_amount <= 0:
            raise _invalid("max_discount_amount", "The cap must be positive.")
        if template.discount_amount != 0:
            raise _invalid("discount_amount", "A percent-off coupon uses its rate, not an amount.")
    elif kind == CouponKind.GIFT:
        if template.gift_sku_id is None:
            raise _invalid("gift_sku_id", "A gift coupon needs the SKU it gives.")
        if template.discount_amount != 0:
            raise _invalid("discount_amount", "A gift coupon gives a unit, not an amount.")
    elif kind == CouponKind.FREE_SHIPPING and template.discount_amount != 0:
        raise _invalid("discount_amount", "A free-shipping coupon waives the fee, not an amount.")
    if kind != CouponKind.PERCENT_OFF and (
        template.discount_rate is not None or template.max_discount_amount is not None
    ):
        raise _invalid("discount_rate", "Only percent-off coupons have a rate and a cap.")
    if kind != CouponKind.GIFT and template.gift_sku_id is not None:
        raise _invalid("gift_sku_id", "Only gift coupons name a gift SKU.")


def _check_scope(session: Session, template: CouponTemplate) -> None:
    ids = list(template.scope_ids or [])
    if template.scope == CouponScope.ALL:
        if ids:
            raise _invalid("scope_ids", "A coupon for everything lists no ids.")
        return
    if not ids:
        raise _invalid("scope_ids", "Name at least one category, product or store.")
    if len(set(ids)) != len(ids):
        raise _invalid("scope_ids", "An id is listed twice.")
    if template.scope == CouponScope.CATEGORIES:
        found = set(session.scalars(select(Category.id).where(Category.id.in_(ids))))
    elif template.scope == CouponScope.PRODUCTS:
        found = set(session.scalars(select(Product.id).where(Product.id.in_(ids))))
    else:
        found = set(
            session.scalars(
                select(Location.id).where(Location.id.in_(ids), Location.kind == LocationKind.STORE)
            )
        )
    missing = sorted(set(ids) - found)
    if missing:
        raise InvalidTemplate(
            "Some ids in the scope do not exist.", data={"field": "scope_ids", "missing": missing}
        )


def _check_validity(template: CouponTemplate) -> None:
    if template.validity == ValidityKind.FIXED:
        if template.valid_until is None:
            raise _invalid("valid_until", "A fixed validity needs an end.")
        if template.valid_from is not None and template.valid_from >= template.valid_until:
            raise _invalid("valid_until", "The validity must end after it starts.")
        if template.valid_days is not None:
            raise _invalid("valid_days", "A fixed validity has no day count.")
    else:
        if template.valid_days is None:
            raise _invalid("valid_days", "Say how many days a claimed coupon stays valid.")
        if template.valid_from is not None or template.valid_until is not None:
            raise _invalid("valid_until", "A relative validity has no fixed dates.")
    if (
        template.claim_starts_at is not None
        and template.claim_ends_at is not None
        and template.claim_starts_at >= template.claim_ends_at
    ):
        raise _invalid("claim_ends_at", "The claim window must end after it starts.")


def validate(session: Session, template: CouponTemplate) -> None:
    """Raise ``coupon.template_invalid`` (with the offending field) unless the template
    is consistent. Called on create, on every update and again on activation."""
    if template.kind not in set(CouponKind):
        raise _invalid("kind", "Unknown coupon kind.")
    _check_kind(template)
    channels = list(template.channels or [])
    if (
        not channels
        or any(c not in CHANNELS for c in channels)
        or len(set(channels)) != len(channels)
    ):
        raise _invalid("channels", "Channels are 'mall', 'store' or both.")
    if template.gift_sku_id is not None and session.get(Sku, template.gift_sku_id) is None:
        raise _invalid("gift_sku_id", "No such SKU.")
    _check_scope(session, template)
    _check_validity(template)
    if any(kind not in set(CouponKind) for kind in template.stackable_with or []):
        raise _invalid("stackable_with", "Unknown coupon kind.")
    if template.total_quantity is not None and template.total_quantity < template.issued_count:
        raise _invalid("total_quantity", "The quantity cannot go below what was issued.")


def category_closure(session: Session, category_ids: Iterable[int]) -> set[int]:
    """The categories and all their descendants: a coupon for 彩妆 fits 口红 too."""
    parents = dict(session.execute(select(Category.id, Category.parent_id)).all())
    children: dict[int, list[int]] = {}
    for child, parent in parents.items():
        if parent is not None:
            children.setdefault(parent, []).append(child)
    found: set[int] = set()
    pending = list(category_ids)
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.add(current)
        pending.extend(children.get(current, []))
    return found


def stackable(first: CouponTemplate, second: CouponTemplate) -> bool:
    """Two coupons go together only when each template allows the other's kind."""
    return (
        first.id != second.id
        and second.kind in (first.stackable_with or [])
        and first.kind in (second.stackable_with or [])
    )


def _yuan(fen: int) -> str:
    return f"¥{fen / 100:.2f}"


def _discount_text(template: CouponTemplate, gift_name: str | None) -> tuple[str, str]:
    kind = template.kind
    if kind == CouponKind.THRESHOLD:
        return (
            f"满 {_yuan(template.threshold_amount)} 减 {_yuan(template.discount_amount)}",
            f"{_yuan(template.discount_amount)} off orders of "
            f"{_yuan(template.threshold_amount)} or more",
        )
    if kind == CouponKind.NO_THRESHOLD:
        return (
            f"无门槛减 {_yuan(template.discount_amount)}",
            f"{_yuan(template.discount_amount)} off, no minimum",
        )
    if kind == CouponKind.PERCENT_OFF:
        rate = template.discount_rate or 10000
        zhe = f"{rate / 1000:g} 折"
        zh = zhe + (
            f"，最多减 {_yuan(template.max_discount_amount)}"
            if template.max_discount_amount
            else ""
        )
        en = f"Pay {rate / 100:g}% of the price" + (
            f", at most {_yuan(template.max_discount_amount)} off"
            if template.max_discount_amount
            else ""
        )
        if template.threshold_amount:
            zh = f"满 {_yuan(template.threshold_amount)} 享 " + zh
            en += f", on orders of {_yuan(template.threshold_amount)} or more"
        return zh, en
    if kind == CouponKind.GIFT:
        name = gift_name or f"SKU {template.gift_sku_id}"
        return (
            f"购买「{name}」时一件免费",
            f"One unit of “{name}” free when it is in the order",
        )
    zh, en = "免运费", "Free shipping"
    if template.threshold_amount:
        zh = f"满 {_yuan(template.threshold_amount)} " + zh
        en += f" on orders of {_yuan(template.threshold_amount)} or more"
    return zh, en


def _scope_text(template: CouponTemplate) -> tuple[str, str]:
    count = len(template.scope_ids or [])
    if template.scope == CouponScope.CATEGORIES:
        return (
            f"限 {count} 个指定分类（含子分类）",
            f"Only {count} categories (and sub-categories)",
        )
    if template.scope == CouponScope.PRODUCTS:
        return (f"限 {count} 个指定商品", f"Only {count} products")
    if template.scope == CouponScope.STORES:
        return (f"限 {count} 家指定门店", f"Only at {count} stores")
    return ("全部商品可用", "All products")


def _date(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _validity_text(template: CouponTemplate, zone: ZoneInfo) -> tuple[str, str]:
    if template.validity == ValidityKind.RELATIVE:
        days = template.valid_days or 0
        return (f"领取后 {days} 天内有效", f"Valid {days} days after claiming")
    start = template.valid_from
    end = template.valid_until
    until = _date(end, zone) if end else "—"
    if start is None:
        return (f"有效期至 {until}", f"Valid until {until}")
    since = _date(start, zone)
    return (f"有效期 {since} 至 {until}", f"Valid {since} to {until}")


def _limit_texts(template: CouponTemplate) -> list[tuple[str, str]]:
    lines = []
    if template.total_quantity is not None:
        lines.append(
            (f"共 {template.total_quantity} 张", f"{template.total_quantity} coupons in total")
        )
    if template.per_customer_limit is not None:
        lines.append(
            (
                f"每人限领 {template.per_customer_limit} 张",
                f"At most {template.per_customer_limit} per customer",
            )
        )
    if template.per_day_limit is not None:
        lines.append(
            (
                f"每人每天限领 {template.per_day_limit} 张",
                f"At most {template.per_day_limit} per customer per day",
            )
        )
    return lines


def _stacking_texts(template: CouponTemplate) -> list[tuple[str, str]]:
    lines = []
    if template.allow_on_campaign_price:
        lines.append(("活动价商品也可用", "Also on campaign-priced items"))
    else:
        lines.append(("活动价商品不可用", "Not on campaign-priced items"))
    kinds = [CouponKind(kind) for kind in template.stackable_with or []]
    if kinds:
        zh = "、".join(KIND_NAMES[kind][0] for kind in kinds)
        en = ", ".join(KIND_NAMES[kind][1] for kind in kinds)
        lines.append((f"可与{zh}叠加（对方也允许时）", f"Combines with {en} (when they allow it)"))
    else:
        lines.append(("每单限用一张，不与其他优惠券同享", "One coupon per order"))
    return lines


def summary(
    template: CouponTemplate, *, zone: ZoneInfo, gift_name: str | None = None
) -> list[dict[str, str]]:
    """The template's rules in Chinese and English, generated from its columns."""
    kind_zh, kind_en = KIND_NAMES[CouponKind(template.kind)]
    channel_zh = "、".join(CHANNEL_NAMES[c][0] for c in template.channels or [])
    channel_en = " and ".join(CHANNEL_NAMES[c][1] for c in template.channels or [])
    pairs: list[tuple[str, str]] = [
        (kind_zh, kind_en.capitalize() + " coupon"),
        _discount_text(template, gift_name),
        _scope_text(template),
        (f"适用渠道：{channel_zh}", f"Channels: {channel_en}"),
        _validity_text(template, zone),
        *_limit_texts(template),
        *_stacking_texts(template),
    ]
    if template.min_tier_rank is not None:
        pairs.append(
            (
                f"限等级 {template.min_tier_rank} 及以上会员",
                f"Members of tier rank {template.min_tier_rank} or higher",
            )
        )
    if template.claim_starts_at or template.claim_ends_at:
        start = _date(template.claim_starts_at, zone) if template.claim_starts_at else "—"
        end = _date(template.claim_ends_at, zone) if template.claim_ends_at else "—"
        pairs.append((f"领取时间 {start} 至 {end}", f"Claim from {start} to {end}"))
    return [{"zh": zh, "en": en} for zh, en in pairs]


def gift_name(session: Session, template: CouponTemplate) -> str | None:
    if template.gift_sku_id is None:
        return None
    row = session.execute(
        select(Product.name, Sku.specs)
        .join(Sku, Sku.product_id == Product.id)
        .where(Sku.id == template.gift_sku_id)
    ).first()
    if row is None:
        return None
    specs: dict[str, Any] = row[1] or {}
    return " ".join([row[0], *(str(v) for v in specs.values())])
