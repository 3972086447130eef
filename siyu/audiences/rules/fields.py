"""The field catalogue of the rule language: every name a rule may use, its type, the
operators that type allows and its labels in Chinese and English.

This is the whitelist the compiler relies on: a name that is not in here never
reaches SQL. ``GET /api/v1/audiences/rules/fields`` serves it to the console builder.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from siyu.events.catalogue import CUSTOM_PREFIX, EVENT_TYPES, TOUCHPOINTS


class FieldType(StrEnum):
    INTEGER = "integer"
    MONEY = "money"  # integer fen
    DECIMAL = "decimal"
    ID = "id"
    STRING = "string"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    DATE = "date"
    JSON = "json"  # a key of an event's free-form properties: string, number or boolean


_COMPARE = ("=", "!=", ">", ">=", "<", "<=")
_SET = ("is_set", "is_not_set")
OPERATORS: dict[FieldType, tuple[str, ...]] = {
    FieldType.INTEGER: (*_COMPARE, "in", "not_in", "between", *_SET),
    FieldType.MONEY: (*_COMPARE, "in", "not_in", "between", *_SET),
    FieldType.DECIMAL: (*_COMPARE, "between", *_SET),
    FieldType.ID: ("=", "!=", "in", "not_in", *_SET),
    FieldType.STRING: ("=", "!=", "in", "not_in", "contains", *_SET),
    FieldType.BOOLEAN: ("=", "!=", *_SET),
    FieldType.DATETIME: (">", ">=", "<", "<=", "between", "within_days", "before_days", *_SET),
    FieldType.DATE: (*_COMPARE, "between", *_SET),
    FieldType.JSON: (*_COMPARE, "in", "not_in", "between", "contains", *_SET),
}
COUNT_OPERATORS = _COMPARE
ALL_OPERATORS = frozenset(op for ops in OPERATORS.values() for op in ops)


@dataclass(frozen=True)
class Field:
    name: str
    type: FieldType
    zh: str
    en: str
    choices: tuple[tuple[str, str, str], ...] = ()  # (value, zh, en) offered by the builder
    # The value a customer without a traits row has (the model's column default).
    default: Any = None

    def label(self, locale: str) -> str:
        return self.zh if locale.startswith("zh") else self.en


def _touchpoint_choices() -> tuple[tuple[str, str, str], ...]:
    choices = []
    for code, text in TOUCHPOINTS.items():
        english, _, chinese = text.partition(" (")
        choices.append((code, chinese.rstrip(")") or english, english))
    return tuple(choices)


TOUCHPOINT_CHOICES = _touchpoint_choices()
RFM_GROUP_CHOICES = (
    ("important_value", "重要价值", "Important value"),
    ("important_develop", "重要发展", "Important develop"),
    ("important_keep", "重要保持", "Important keep"),
    ("important_retain", "重要挽留", "Important retain"),
    ("general_value", "一般价值", "General value"),
    ("general_develop", "一般发展", "General develop"),
    ("general_keep", "一般保持", "General keep"),
    ("general_retain", "一般挽留", "General retain"),
)
AIPL_CHOICES = (
    ("aware", "认知", "Aware"),
    ("interested", "兴趣", "Interested"),
    ("purchased", "购买", "Purchased"),
    ("loyal", "忠诚", "Loyal"),
)
OPS_CHOICES = (
    ("new", "新客", "New"),
    ("active", "活跃", "Active"),
    ("dormant", "沉睡", "Dormant"),
    ("churned", "流失", "Churned"),
    ("recalled", "召回", "Recalled"),
)

T = FieldType
TRAITS: dict[str, Field] = {
    item.name: item
    for item in (
        Field("first_order_at", T.DATETIME, "首次下单时间", "First order at"),
        Field("last_order_at", T.DATETIME, "最近下单时间", "Last order at"),
        Field("days_since_last_order", T.INTEGER, "距上次下单天数", "Days since last order"),
        Field("orders_30d", T.INTEGER, "近30天订单数", "Orders in 30 days", default=0),
        Field("orders_90d", T.INTEGER, "近90天订单数", "Orders in 90 days", default=0),
        Field("orders_365d", T.INTEGER, "近365天订单数", "Orders in 365 days", default=0),
        Field("orders_total", T.INTEGER, "累计订单数", "Orders in total", default=0),
        Field("spend_30d", T.MONEY, "近30天消费金额", "Spend in 30 days", default=0),
        Field("spend_90d", T.MONEY, "近90天消费金额", "Spend in 90 days", default=0),
        Field("spend_365d", T.MONEY, "近365天消费金额", "Spend in 365 days", default=0),
        Field("spend_total", T.MONEY, "累计消费金额", "Spend in total", default=0),
        Field("aov", T.MONEY, "客单价", "Average order value", default=0),
        Field("avg_days_between_orders", T.DECIMAL, "平均下单间隔(天)", "Days between orders"),
        Field("favourite_category_id", T.ID, "偏好类目", "Favourite category"),
        Field("preferred_store_id", T.ID, "常去门店", "Preferred store"),
        Field(
            "preferred_touchpoint",
            T.STRING,
            "偏好触点",
            "Preferred touchpoint",
            TOUCHPOINT_CHOICES,
        ),
        Field("last_active_at", T.DATETIME, "最近活跃时间", "Last active at"),
        Field("days_since_last_active", T.INTEGER, "距上次活跃天数", "Days since last active"),
        Field(
            "coupon_order_share",
            T.INTEGER,
            "用券订单占比(万分比)",
            "Coupon order share (basis points)",
            default=0,
        ),
        Field("next_order_from", T.DATE, "预计下次下单(起)", "Next order expected from"),
        Field("next_order_to", T.DATE, "预计下次下单(止)", "Next order expected by"),
        Field("is_subscribed", T.BOOLEAN, "已订阅", "Subscribed", default=False),
        Field("subscribe_quota", T.INTEGER, "订阅消息余量", "Subscribe quota", default=0),
        Field("rfm_recency", T.INTEGER, "R 分", "R score"),
        Field("rfm_frequency", T.INTEGER, "F 分", "F score"),
        Field("rfm_monetary", T.INTEGER, "M 分", "M score"),
        Field("rfm_group", T.STRING, "RFM 分组", "RFM group", RFM_GROUP_CHOICES),
        Field("aipl_stage", T.STRING, "AIPL 阶段", "AIPL stage", AIPL_CHOICES),
        Field("ops_stage", T.STRING, "生命周期阶段", "Lifecycle stage", OPS_CHOICES),
        Field("ops_stage_since", T.DATETIME, "进入当前阶段时间", "In stage since"),
        Field("computed_at", T.DATETIME, "特征计算时间", "Traits computed at"),
    )
}
# Traits derived from a stored time and "now" (never stored: they move with the clock).
DERIVED_TRAITS = {
    "days_since_last_order": "last_order_at",
    "days_since_last_active": "last_active_at",
}

ATTRIBUTES: dict[str, Field] = {
    item.name: item
    for item in (
        Field("gender", T.STRING, "性别", "Gender"),
        Field("city", T.STRING, "城市", "City"),
        Field("first_touchpoint", T.STRING, "首次触点", "First touchpoint", TOUCHPOINT_CHOICES),
        Field("last_touchpoint", T.STRING, "最近触点", "Last touchpoint", TOUCHPOINT_CHOICES),
        Field("guide_id", T.ID, "专属导购", "Guide"),
        Field("store_id", T.ID, "所属门店", "Store"),
        Field("created_at", T.DATETIME, "建档时间", "Created at"),
        Field("tier", T.STRING, "会员等级", "Member tier"),
        Field("tier_rank", T.INTEGER, "会员等级序号", "Tier rank"),
        Field("birthday_month", T.INTEGER, "生日月份", "Birthday month"),
    )
}

# Identity kinds (customer_identity.kind) plus two relations a rule treats alike.
IDENTITIES: dict[str, tuple[str, str]] = {
    "unionid": ("微信 UnionID", "WeChat UnionID"),
    "oa_openid": ("公众号 OpenID", "Official account OpenID"),
    "mp_openid": ("小程序 OpenID", "Mini program OpenID"),
    "wecom_external_userid": ("企业微信外部联系人", "WeCom external contact ID"),
    "phone": ("手机号", "Phone number"),
    "member_no": ("会员号", "Member number"),
    "external": ("外部系统 ID", "External system ID"),
    "wecom_contact": ("企业微信好友", "WeCom contact of a guide"),
    "subscribed": ("已订阅", "Subscribed"),
}

EVENT_LABELS: dict[str, tuple[str, str]] = {
    "page_view": ("浏览页面", "Page view"),
    "product_view": ("浏览商品", "Product view"),
    "search": ("搜索", "Search"),
    "add_to_cart": ("加入购物车", "Add to cart"),
    "remove_from_cart": ("移出购物车", "Remove from cart"),
    "checkout_start": ("开始结算", "Checkout start"),
    "order_paid": ("支付订单", "Order paid"),
    "share": ("分享", "Share"),
    "coupon_claimed": ("领取优惠券", "Coupon claimed"),
    "subscribe": ("订阅", "Subscribe"),
    "unsubscribe": ("取消订阅", "Unsubscribe"),
    "group_join": ("加入群组", "Group join"),
    "scan": ("扫码", "Scan"),
    "sign_up": ("注册会员", "Sign up"),
    "message_click": ("点击消息", "Message click"),
}
ORDER_EVENT = "order"
ORDER_EVENT_LABEL = ("付款订单", "Paid order")

EVENT_PROPERTIES: dict[str, Field] = {
    item.name: item
    for item in (
        Field("category", T.STRING, "类目", "category"),
        Field("category_id", T.ID, "类目 ID", "category id"),
        Field("product_id", T.ID, "商品", "product"),
        Field("touchpoint", T.STRING, "触点", "touchpoint", TOUCHPOINT_CHOICES),
        Field("channel_code_id", T.ID, "渠道活码", "channel code"),
        Field("campaign_id", T.ID, "活动", "campaign"),
        Field("guide_id", T.ID, "导购", "guide"),
    )
}
ORDER_PROPERTIES: dict[str, Field] = {
    item.name: item
    for item in (
        Field("category", T.STRING, "类目", "category"),
        Field("category_id", T.ID, "类目 ID", "category id"),
        Field("product_id", T.ID, "商品", "product"),
        Field("store_id", T.ID, "门店", "store"),
        Field("touchpoint", T.STRING, "触点", "touchpoint", TOUCHPOINT_CHOICES),
        Field("channel_code_id", T.ID, "渠道活码", "channel code"),
        Field("campaign_id", T.ID, "活动", "campaign"),
        Field("total_amount", T.MONEY, "订单金额", "order total"),
    )
}
# Order properties that are about the order's lines: "an order line of that category".
ORDER_LINE_PROPERTIES = frozenset({"category", "category_id", "product_id"})
PROPERTIES_PREFIX = "properties."


def event_label(event_type: str, locale: str) -> str:
    chinese = locale.startswith("zh")
    if event_type == ORDER_EVENT:
        return ORDER_EVENT_LABEL[0 if chinese else 1]
    if event_type in EVENT_LABELS:
        return EVENT_LABELS[event_type][0 if chinese else 1]
    name = event_type.removeprefix(CUSTOM_PREFIX)
    return f"自定义事件 {name}" if chinese else f"custom event {name}"


def property_field(event_type: str, name: str) -> Field | None:
    """The catalogue entry of a ``where`` property, or a JSON field for "properties.<key>"."""
    if event_type == ORDER_EVENT:
        return ORDER_PROPERTIES.get(name)
    if name.startswith(PROPERTIES_PREFIX):
        key = name.removeprefix(PROPERTIES_PREFIX)
        return Field(name, T.JSON, key, key)
    return EVENT_PROPERTIES.get(name)


def _field_out(item: Field) -> dict[str, Any]:
    return {
        "name": item.name,
        "type": item.type.value,
        "zh": item.zh,
        "en": item.en,
        "operators": list(OPERATORS[item.type]),
        "choices": [{"value": value, "zh": zh, "en": en} for value, zh, en in item.choices],
    }


def catalogue() -> dict[str, Any]:
    """Everything the builder needs to offer only valid choices."""
    events = [
        {"type": name, "zh": zh, "en": en, "documented_properties": list(item.properties)}
        for name, item in EVENT_TYPES.items()
        for zh, en in [EVENT_LABELS.get(name, (name, name))]
    ]
    events.append(
        {
            "type": ORDER_EVENT,
            "zh": ORDER_EVENT_LABEL[0],
            "en": ORDER_EVENT_LABEL[1],
            "documented_properties": [],
        }
    )
    return {
        "traits": [_field_out(item) for item in TRAITS.values()],
        "attributes": [_field_out(item) for item in ATTRIBUTES.values()],
        "identities": [{"kind": kind, "zh": zh, "en": en} for kind, (zh, en) in IDENTITIES.items()],
        "events": events,
        "custom_event_prefix": CUSTOM_PREFIX,
        "event_properties": [_field_out(item) for item in EVENT_PROPERTIES.values()],
        "order_properties": [_field_out(item) for item in ORDER_PROPERTIES.values()],
        "properties_prefix": PROPERTIES_PREFIX,
        "json_operators": list(OPERATORS[FieldType.JSON]),
        "count_operators": list(COUNT_OPERATORS),
    }
