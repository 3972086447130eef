"""The demo brand's tag groups, manual tags and rule tags.

Manual tags are what guides record after a conversation (skin type, interests, how a
customer likes to shop): put on a seeded share of customers, all by the demo
operator (source ``staff:demo_ops``), through ``tags.sync_tag_members`` so history and
counts are written as for any bulk tagging. Rule tags are kept by the audience
refresh that follows.
"""

from __future__ import annotations

import random
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from siyu.audiences.tags import manage
from siyu.audiences.tags import service as tags
from siyu.audiences.tags.schemas import TagGroupIn, TagIn
from siyu.demo.audiences.people import DemoPeople
from siyu.staff.principal import Principal

SOURCE = "staff:demo_ops"
SKIN = "肤质"
INTERESTS = "兴趣偏好"
SHOPPING = "到店偏好"
BEHAVIOUR = "行为标签"
# (group, exclusive, description)
GROUPS: tuple[tuple[str, bool, str], ...] = (
    (SKIN, True, "导购沟通后记录的肤质，单选"),
    (INTERESTS, False, "顾客表达过兴趣的品类，可多选"),
    (SHOPPING, True, "顾客偏好的购物方式，单选"),
    (BEHAVIOUR, False, "按规则自动维护的行为标签"),
)
# Skin types and their shares among the customers a guide has talked to.
SKIN_TYPES: tuple[tuple[str, float], ...] = (
    ("干性", 0.28),
    ("油性", 0.30),
    ("混合", 0.30),
    ("敏感", 0.12),
)
INTEREST_TAGS = ("彩妆", "护肤", "香氛", "个护")
SHOPPING_TAGS = ("线上下单", "到店体验", "门店自提")
SKIN_SHARE = 0.40
INTEREST_SHARE = 0.25
ONLINE_SHARE = 0.30
# Rule tags: (name, description, rule).
RULE_TAGS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    (
        "口红爱好者",
        "近 30 天浏览口红至少 3 次，或近 180 天买过口红",
        {
            "any": [
                {
                    "event": "product_view",
                    "where": [{"property": "category", "op": "=", "value": "口红"}],
                    "count": {"op": ">=", "value": 3},
                    "window": {"days": 30},
                },
                {
                    "event": "order",
                    "where": [{"property": "category", "op": "=", "value": "口红"}],
                    "window": {"days": 180},
                },
            ]
        },
    ),
    (
        "高客单",
        "客单价不低于 300 元",
        {"trait": "aov", "op": ">=", "value": 30_000},
    ),
    (
        "常用优惠券",
        "至少两单，且一半以上订单用了优惠券",
        {
            "all": [
                {"trait": "orders_total", "op": ">=", "value": 2},
                {"trait": "coupon_order_share", "op": ">=", "value": 5_000},
            ]
        },
    ),
)


def build_tags(
    session: Session, actor: Principal, people: DemoPeople, rng: random.Random, *, now: datetime
) -> dict[str, int]:
    """Create the groups and tags; tag a seeded share of customers. Returns
    ``{"<group>/<tag>": holders}`` of the manual tags."""
    for sort_order, (name, exclusive, description) in enumerate(GROUPS):
        manage.create_group(
            session,
            actor,
            TagGroupIn(
                name=name, description=description, is_exclusive=exclusive, sort_order=sort_order
            ),
        )
    holders: dict[str, list[int]] = {}

    def give(group: str, name: str, customer_id: int) -> None:
        holders.setdefault(f"{group}/{name}", []).append(customer_id)

    skin_names = [name for name, _share in SKIN_TYPES]
    skin_weights = [share for _name, share in SKIN_TYPES]
    for customer_id in people.customer_ids:
        if rng.random() < SKIN_SHARE:
            give(SKIN, rng.choices(skin_names, skin_weights)[0], customer_id)
        if rng.random() < INTEREST_SHARE:
            for interest in rng.sample(INTEREST_TAGS, rng.choice((1, 1, 2))):
                give(INTERESTS, interest, customer_id)
        if customer_id in people.store_customers:
            give(SHOPPING, "到店体验" if rng.random() < 0.6 else "门店自提", customer_id)
        elif rng.random() < ONLINE_SHARE:
            give(SHOPPING, "线上下单", customer_id)
    counts: dict[str, int] = {}
    for group, names in ((SKIN, skin_names), (INTERESTS, INTEREST_TAGS), (SHOPPING, SHOPPING_TAGS)):
        for name in names:
            tag = manage.create_tag(session, actor, TagIn(group_name=group, name=name))
            ids = holders.get(f"{group}/{name}", [])
            tags.sync_tag_members(session, tag.id, ids, source=SOURCE, now=now)
            counts[f"{group}/{name}"] = len(ids)
    for name, description, rule in RULE_TAGS:
        manage.create_tag(
            session,
            actor,
            TagIn(group_name=BEHAVIOUR, name=name, description=description, rule=rule),
        )
    return counts


def tag_id(session: Session, group: str, name: str) -> int:
    return tags.ensure_tag(session, group, name).id
