"""The demo brand's saved segments (人群包): the audiences an operator reaches for first.

Each is created through ``siyu.audiences.segments.service.create`` (validated like a
console save) and filled by the phase's full refresh. ``{tag:<group>/<name>}``
references in a rule are replaced by that tag's id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from siyu.audiences.segments import service as segments
from siyu.audiences.segments.schemas import SegmentIn
from siyu.demo.audiences import tagging
from siyu.models.audience import Segment
from siyu.staff.principal import Principal

LIPSTICK_LOOKERS = "口红种草未购"


def _no_order(days: int) -> dict[str, Any]:
    return {"event": "order", "count": {"op": "=", "value": 0}, "window": {"days": days}}


def definitions(*, now: datetime, timezone: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(name, description, rule) of every demo segment."""
    month = now.astimezone(ZoneInfo(timezone)).month
    return [
        (
            LIPSTICK_LOOKERS,
            "近 7 天浏览口红至少 3 次、但近 7 天没有下单：适合推口红试色券",
            {
                "all": [
                    {
                        "event": "product_view",
                        "where": [{"property": "category", "op": "=", "value": "口红"}],
                        "count": {"op": ">=", "value": 3},
                        "window": {"days": 7},
                    },
                    _no_order(7),
                ]
            },
        ),
        (
            "沉睡金卡会员",
            "金卡、黑金会员，超过 3 周没有下单：导购一对一唤醒",
            {
                "all": [
                    {"attribute": "tier", "op": "in", "value": ["gold", "black"]},
                    {"trait": "days_since_last_order", "op": ">", "value": 21},
                ]
            },
        ),
        (
            "新客未复购",
            "只下过一单，首单在 7–60 天前：第二单是留存的关键",
            {
                "all": [
                    {"trait": "orders_total", "op": "=", "value": 1},
                    {"trait": "first_order_at", "op": "before_days", "value": 7},
                    {"trait": "first_order_at", "op": "within_days", "value": 60},
                ]
            },
        ),
        (
            "重要挽留客户",
            "RFM 重要挽留：消费高、买得多，但很久没来了",
            {"trait": "rfm_group", "op": "=", "value": "important_retain"},
        ),
        (
            "重要价值客户",
            "RFM 重要价值：最近买过、买得多、花得多，维护好关系",
            {"trait": "rfm_group", "op": "=", "value": "important_value"},
        ),
        (
            "优惠券敏感客",
            "一半以上订单用了优惠券：发券比打折更有效",
            {
                "all": [
                    {"trait": "orders_total", "op": ">=", "value": 1},
                    {"trait": "coupon_order_share", "op": ">=", "value": 5_000},
                ]
            },
        ),
        (
            "企微好友未购",
            "已加导购企业微信、但从没下过单：导购首单转化",
            {
                "all": [
                    {"identity": "wecom_contact", "has": True},
                    {"trait": "orders_total", "op": "=", "value": 0},
                ]
            },
        ),
        (
            "公众号粉丝未在小程序下单",
            "关注了公众号、近 180 天没有在小程序下单：公众号推文引流到小程序",
            {
                "all": [
                    {"identity": "oa_openid", "has": True},
                    {
                        "event": "order",
                        "where": [{"property": "touchpoint", "op": "=", "value": "mp"}],
                        "count": {"op": "=", "value": 0},
                        "window": {"days": 180},
                    },
                ]
            },
        ),
        (
            f"{month} 月生日会员",
            f"生日在 {month} 月的会员：生日礼券与积分",
            {
                "all": [
                    {"attribute": "birthday_month", "op": "=", "value": month},
                    {"attribute": "tier", "op": "is_set"},
                ]
            },
        ),
        (
            "加购未下单",
            "近 3 天加购、但近 3 天没有下单：购物车提醒",
            {"all": [{"event": "add_to_cart", "window": {"days": 3}}, _no_order(3)]},
        ),
        (
            "沉睡与流失客户",
            "运营生命周期处于沉睡或流失：召回活动的对象",
            {"trait": "ops_stage", "op": "in", "value": ["dormant", "churned"]},
        ),
        (
            "油皮未买护肤",
            "导购记录为油性肤质、近 180 天没买过护肤品：控油护肤推荐",
            {
                "all": [
                    {"tag": "{tag:肤质/油性}", "has": True},
                    {
                        "event": "order",
                        "where": [{"property": "category", "op": "=", "value": "护肤"}],
                        "count": {"op": "=", "value": 0},
                        "window": {"days": 180},
                    },
                ]
            },
        ),
        (
            "订阅消息可触达",
            "在小程序订阅过消息或关注了公众号：可免费触达",
            {"identity": "subscribed", "has": True},
        ),
    ]


def _with_tag_ids(session: Session, value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _with_tag_ids(session, item) for key, item in value.items()}
    if isinstance(value, list):
        return [_with_tag_ids(session, item) for item in value]
    if isinstance(value, str) and value.startswith("{tag:") and value.endswith("}"):
        group, name = value[5:-1].split("/", 1)
        return tagging.tag_id(session, group, name)
    return value


def create_segments(
    session: Session, actor: Principal, *, now: datetime, timezone: str
) -> list[Segment]:
    return [
        segments.create(
            session,
            actor,
            SegmentIn(name=name, description=description, rule=_with_tag_ids(session, rule)),
        )
        for name, description, rule in definitions(now=now, timezone=timezone)
    ]
