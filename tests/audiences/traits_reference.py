"""The plain-Python computation of the traits (naive UTC) that the DuckDB SQL is
compared with: the same definitions as docs/traits.md, written the obvious way."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from siyu.audiences.config_schemas import AudienceSettings
from tests.audiences.traits_data import Dataset


def _naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


def _top(counter: Counter[Any]) -> Any:
    """Most counted, ties to the smallest key (None when empty)."""
    if not counter:
        return None
    return min(counter, key=lambda key: (-counter[key], key))


def reference(data: Dataset, now: datetime) -> dict[int, dict[str, Any]]:
    """Every base trait of every customer, computed the plain way (naive UTC)."""
    settings = AudienceSettings()
    now = _naive(now)  # type: ignore[assignment]
    assert now is not None
    paid = [
        o
        for o in data.orders
        if o["paid_at"] is not None
        and _naive(o["paid_at"]) <= now  # type: ignore[operator]
        and o["paid_amount"] > o["refunded_amount"]
    ]
    by_customer: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for o in paid:
        by_customer[o["customer_id"]].append(o)
    paid_ids = {o["id"]: o["customer_id"] for o in paid}
    units: dict[int, Counter[int]] = defaultdict(Counter)
    for line in data.lines:
        owner = paid_ids.get(line["order_id"])
        if owner is not None and line["category_id"] is not None:
            units[owner][line["category_id"]] += line["quantity"] - line["refunded_quantity"]
    events = defaultdict(list)
    for event in data.events:
        if _naive(event["occurred_at"]) <= now:  # type: ignore[operator]
            events[event["customer_id"]].append(event)
    result = {}
    for customer_id in data.customers:
        orders = by_customer[customer_id]
        times = sorted(_naive(o["paid_at"]) for o in orders)  # type: ignore[type-var]
        spend = {o["id"]: o["paid_amount"] - o["refunded_amount"] for o in orders}

        def within(days: int, orders: list[dict[str, Any]] = orders) -> list[dict[str, Any]]:
            since = now - timedelta(days=days)
            return [o for o in orders if _naive(o["paid_at"]) > since]  # type: ignore[operator]

        total = len(orders)
        row: dict[str, Any] = {
            "first_order_at": times[0] if times else None,
            "last_order_at": times[-1] if times else None,
            "orders_total": total,
            "spend_total": sum(spend.values()),
        }
        for days in (30, 90, 365):
            row[f"orders_{days}d"] = len(within(days))
            row[f"spend_{days}d"] = sum(spend[o["id"]] for o in within(days))
        row["aov"] = row["spend_total"] // total if total else 0
        gap = None
        if total >= 2:
            span = times[-1] - times[0]
            row["avg_days_between_orders"] = span / timedelta(days=1) / (total - 1)
            gap = (span // timedelta(seconds=1)) // (total - 1)
        else:
            row["avg_days_between_orders"] = None
        row["next_order_from"] = (
            (times[-1] + timedelta(seconds=gap - gap // 4)).date() if gap is not None else None
        )
        row["next_order_to"] = (
            (times[-1] + timedelta(seconds=gap + gap // 4)).date() if gap is not None else None
        )
        positive = Counter({k: v for k, v in units[customer_id].items() if v > 0})
        row["favourite_category_id"] = _top(positive)
        row["preferred_store_id"] = _top(
            Counter(o["store_id"] for o in orders if o["store_id"] is not None)
        )
        mine = events[customer_id]
        row["preferred_touchpoint"] = _top(
            Counter(e["touchpoint"] for e in mine if e["touchpoint"] is not None)
            + Counter(o["touchpoint"] for o in orders if o["touchpoint"] is not None)
        )
        created = [
            _naive(o["created_at"])
            for o in data.orders
            if o["customer_id"] == customer_id and _naive(o["created_at"]) <= now  # type: ignore[operator]
        ]
        moments = [_naive(e["occurred_at"]) for e in mine] + created + times
        row["last_active_at"] = max(moments) if moments else None  # type: ignore[type-var]
        with_coupon = sum(1 for o in orders if o["id"] in data.coupon_order_ids)
        row["coupon_order_share"] = 10000 * with_coupon // total if total else 0
        subscribed = [_naive(e["occurred_at"]) for e in mine if e["type"] == "subscribe"]
        unsubscribed = [_naive(e["occurred_at"]) for e in mine if e["type"] == "unsubscribe"]
        # The later wins; at the same instant the unsubscribe does.
        row["is_subscribed"] = bool(subscribed) and (
            not unsubscribed or max(subscribed) > max(unsubscribed)  # type: ignore[type-var]
        )
        row["subscribe_quota"] = sum(
            1 for e in mine if e["type"] == "subscribe" and e["touchpoint"] == "mp"
        )
        interest_since = now - timedelta(days=settings.aipl.interest_window_days)
        engaged = any(
            e["type"] in settings.aipl.engagement_events
            and _naive(e["occurred_at"]) > interest_since  # type: ignore[operator]
            for e in mine
        )
        loyal_orders = len(within(settings.aipl.loyal_window_days))
        row["aipl_stage"] = (
            "loyal"
            if loyal_orders >= settings.aipl.loyal_min_orders
            else "purchased"
            if total
            else "interested"
            if engaged
            else "aware"
        )
        row["ops_stage"] = ops_base(row, now, settings)
        result[customer_id] = row
    return result


def ops_base(row: dict[str, Any], now: datetime, settings: AudienceSettings) -> str | None:
    windows = settings.operational
    if not row["orders_total"]:
        return None
    if row["first_order_at"] > now - timedelta(days=windows.new_days):
        return "new"
    if row["last_order_at"] > now - timedelta(days=windows.active_days):
        return "active"
    if row["last_order_at"] > now - timedelta(days=windows.churn_days):
        return "dormant"
    return "churned"


def quantile_scores(values: dict[int, Any]) -> dict[int, int]:
    """1 + ⌊5·(rank−1)/n⌋ with rank = 1 + the number of strictly smaller values."""
    ordered = sorted(values.values())
    n = len(ordered)
    return {
        key: 1 + 5 * sum(1 for other in ordered if other < value) // n
        for key, value in values.items()
    }
