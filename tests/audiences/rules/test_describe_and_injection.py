"""The readable text of rules, and SQL injection through every string position."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest

from siyu.audiences import rules
from siyu.audiences.errors import RuleInvalid
from siyu.audiences.rules.evaluate import RuleDataset, evaluate
from siyu.audiences.rules.loader import register_dataset
from tests.audiences.rules.strategies import NOW
from tests.audiences.rules.test_parse import LIPSTICK


@pytest.mark.parametrize(
    ("data", "zh", "en"),
    [
        (
            LIPSTICK,
            "近 7 天 浏览商品(类目 = 口红) ≥ 3 次 且 近 7 天 没有 支付订单",
            "in the last 7 days Product view(category = 口红) ≥ 3 times"
            " and in the last 7 days has no Order paid",
        ),
        (
            {
                "all": [
                    {"attribute": "tier", "op": "=", "value": "gold"},
                    {"trait": "days_since_last_order", "op": ">=", "value": 60},
                    {"any": [{"identity": "oa_openid"}, {"identity": "wecom_contact"}]},
                ]
            },
            "会员等级 = gold 且 距上次下单天数 ≥ 60 且 (有 公众号 OpenID 或 有 企业微信好友)",
            "Member tier = gold and Days since last order ≥ 60"
            " and (has Official account OpenID or has WeCom contact of a guide)",
        ),
        (
            {"not": {"tag": 7}},
            "非(有 标签 肤质/干性)",
            "not (has tag 肤质/干性)",
        ),
        (
            {
                "event": "order",
                "where": [
                    {"property": "total_amount", "op": "between", "value": [10000, 50000]},
                    {"property": "touchpoint", "op": "in", "value": ["mp", "oa"]},
                ],
                "count": {"op": "<", "value": 2},
                "window": {"from": "2026-11-01", "to": "2026-11-11"},
            },
            "2026-11-01 至 2026-11-11 付款订单(订单金额 介于 ¥100.00 ~ ¥500.00，"
            "触点 属于 [小程序、公众号]) < 2 次",
            "from 2026-11-01 to 2026-11-11 Paid order(order total between ¥100.00 ~ ¥500.00,"
            " touchpoint in [Mini program, Official account]) < 2 times",
        ),
        (
            {"trait": "rfm_group", "op": "=", "value": "important_keep"},
            "RFM 分组 = 重要保持",
            "RFM group = Important keep",
        ),
        (
            {"trait": "last_active_at", "op": "before_days", "value": 30},
            "最近活跃时间 在 30 天以前",
            "Last active at more than 30 days ago",
        ),
    ],
)
def test_readable_text(data: dict[str, Any], zh: str, en: str) -> None:
    rule = rules.parse(data)
    names = {7: "肤质/干性"}
    assert rules.describe(rule, tag_names=names) == zh
    assert rules.describe(rule, locale="en", tag_names=names) == en


INJECTIONS = [
    "'; DROP TABLE events; --",
    "x' OR '1'='1",
    '") OR 1=1 --',
    "x$now) OR TRUE --",
    "?); SELECT 1; --",
]


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_through_names_is_refused(attack: str) -> None:
    window = {"days": 7}
    attempts: list[dict[str, Any]] = [
        {"trait": attack, "op": "=", "value": 1},
        {"attribute": attack, "op": "=", "value": 1},
        {"identity": attack},
        {"tag": attack},
        {"event": attack, "window": window},
        {"event": "custom." + attack, "window": window},
        {
            "event": "product_view",
            "where": [{"property": attack, "op": "=", "value": 1}],
            "window": window,
        },
        {
            "event": "product_view",
            "where": [{"property": "properties." + attack, "op": "=", "value": "x"}],
            "window": window,
        },
        {"trait": "aov", "op": attack, "value": 1},
        {"event": "product_view", "count": {"op": attack, "value": 1}, "window": window},
        {"event": "product_view", "window": {"days": attack}},
        {"event": "product_view", "window": {"from": attack, "to": "2026-11-01"}},
        {"trait": "last_order_at", "op": ">", "value": attack},
        {"trait": "aov", "op": ">", "value": attack},
    ]
    for data in attempts:
        with pytest.raises(RuleInvalid):
            rules.parse(data)


@pytest.mark.parametrize("attack", INJECTIONS)
def test_injection_through_values_is_harmless(attack: str) -> None:
    dataset = RuleDataset(
        customers=[
            {"customer_id": 1, "status": "active", "city": attack},
            {"customer_id": 2, "status": "active", "city": "上海"},
        ],
        events=[
            {
                "customer_id": 1,
                "type": "product_view",
                "occurred_at": NOW,
                "day": NOW.date(),
                "touchpoint": attack,
                "properties": '{"a": "' + attack.replace('"', '\\"') + '"}',
            }
        ],
        categories=[{"category_id": 1, "name": attack}],
    )
    window = {"days": 7}
    attempts: list[tuple[dict[str, Any], list[int]]] = [
        ({"attribute": "city", "op": "=", "value": attack}, [1]),
        ({"attribute": "city", "op": "in", "value": [attack, "上海"]}, [1, 2]),
        ({"attribute": "city", "op": "contains", "value": attack}, [1]),
        ({"trait": "rfm_group", "op": "!=", "value": attack}, []),
        (
            {
                "event": "product_view",
                "where": [{"property": "touchpoint", "op": "=", "value": attack}],
                "window": window,
            },
            [1],
        ),
        (
            {
                "event": "product_view",
                "where": [{"property": "properties.a", "op": "=", "value": attack}],
                "window": window,
            },
            [1],
        ),
        (
            {
                "event": "product_view",
                "where": [{"property": "category", "op": "=", "value": attack}],
                "window": window,
            },
            [],
        ),
        ({"not": {"attribute": "city", "op": "not_in", "value": [attack]}}, [1]),
    ]
    with duckdb.connect() as con:
        register_dataset(con, dataset)
        for data, expected in attempts:
            rule = rules.parse(data)
            compiled = rules.compile_rule(rule, now=NOW)
            assert attack not in compiled.sql
            assert attack in compiled.params.values()
            assert rules.members(con, rule, now=NOW).to_pylist() == expected, data
            assert evaluate(dataset, rule, now=NOW) == expected
        # Every table is still there, with its rows.
        assert con.execute("SELECT count(*) FROM events").fetchone() == (1,)
        assert con.execute("SELECT count(*) FROM live_customers").fetchone() == (2,)
