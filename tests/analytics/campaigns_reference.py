"""Generated OLTP data and plain-Python references for attribution, campaign ROI and
the diagnosis grid. The references never run SQL: they walk the rows the generator
wrote, so a test compares two independent computations."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from siyu.campaigns.registry.service import in_holdout
from siyu.models.campaign import Campaign
from siyu.models.coupon import Coupon, CouponTemplate
from siyu.models.customer import Customer, CustomerIdentity, CustomerStaffLink
from siyu.models.lottery import Lottery, LotteryDraw
from siyu.models.member import PointsEntry
from siyu.models.order import Order, OrderLine
from siyu.models.referral import Commission, Promoter
from siyu.models.tracking import TrackedEvent

LOOKBACK = timedelta(days=30)
CHANNEL_CODES = (501, 502, 503, None)
TOUCHPOINTS = ("mp", "oa", "wecom", None)
GUIDES = (701, 702, None)
CAMPAIGNS = (901, 902, 903, None)
STORES = (1, 2)
# (dimension, order/event key) pairs the attribution reference reads.
DIMENSION_KEYS = {
    "channel_code": "channel_code_id",
    "touchpoint": "touchpoint",
    "guide": "guide_id",
    "campaign": "campaign_id",
}


@dataclass
class Dataset:
    customers: dict[int, dict[str, Any]] = field(default_factory=dict)
    orders: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def add_customer(session: Session, data: Dataset, *, at: datetime, store_id: int | None) -> int:
    customer = Customer(consent={}, created_at=at, updated_at=at, store_id=store_id)
    session.add(customer)
    session.flush()
    data.customers[customer.id] = {"id": customer.id, "store_id": store_id, "created_at": at}
    return customer.id


def add_order(
    session: Session,
    data: Dataset,
    customer_id: int,
    *,
    paid_at: datetime,
    amount: int,
    refunded: int = 0,
    discount: int = 0,
    store_id: int | None = None,
    **attribution: Any,
) -> dict[str, Any]:
    order = Order(
        public_id=f"o_{uuid.uuid4().hex[:30]}",
        customer_id=customer_id,
        status="paid",
        items_amount=amount + discount,
        discount_amount=discount,
        total_amount=amount,
        paid_amount=amount,
        refunded_amount=refunded,
        item_count=1,
        store_id=store_id,
        created_at=paid_at - timedelta(minutes=3),
        updated_at=paid_at,
        paid_at=paid_at,
        **attribution,
    )
    session.add(order)
    session.flush()
    row = {
        "id": order.id,
        "customer_id": customer_id,
        "paid_at": naive(paid_at),
        "gmv": amount - refunded,
        "discount": discount,
        "store_id": store_id,
        **{key: attribution.get(key) for key in DIMENSION_KEYS.values()},
    }
    data.orders.append(row)
    return row


def add_event(
    session: Session,
    data: Dataset,
    customer_id: int,
    *,
    at: datetime,
    type: str = "page_view",
    touchpoint: str | None = None,
    channel_code_id: int | None = None,
    guide_id: int | None = None,
    campaign_id: int | None = None,
) -> None:
    context = {
        key: value
        for key, value in (("guide_id", guide_id), ("campaign_id", campaign_id))
        if value is not None
    }
    event = TrackedEvent(
        event_id=f"ev-{uuid.uuid4().hex}",
        customer_id=customer_id,
        type=type,
        occurred_at=at,
        received_at=at,
        touchpoint=touchpoint,
        channel_code_id=channel_code_id,
        properties={},
        context=context,
    )
    session.add(event)
    session.flush()
    data.events.append(
        {
            "id": event.id,
            "customer_id": customer_id,
            "type": type,
            "at": naive(at),
            "touchpoint": touchpoint,
            "channel_code_id": channel_code_id,
            "guide_id": guide_id,
            "campaign_id": campaign_id,
        }
    )


def build_attribution(
    session: Session, rng: random.Random, *, now: datetime, customers: int
) -> Dataset:
    """Customers with touches over the last 100 days and orders over the last 60, on
    whole hours so that ties between touches and payments happen."""
    data = Dataset()
    for _ in range(customers):
        customer_id = add_customer(
            session, data, at=now - timedelta(days=200), store_id=rng.choice(STORES)
        )
        for _ in range(rng.randint(0, 8)):
            add_event(
                session,
                data,
                customer_id,
                at=now - timedelta(hours=rng.randrange(0, 100 * 24, 6)),
                touchpoint=rng.choice(TOUCHPOINTS),
                channel_code_id=rng.choice(CHANNEL_CODES),
                guide_id=rng.choice(GUIDES),
                campaign_id=rng.choice(CAMPAIGNS),
            )
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            amount = rng.choice((5000, 9900, 12000, 30001))
            add_order(
                session,
                data,
                customer_id,
                paid_at=now - timedelta(hours=rng.randrange(0, 60 * 24, 6)),
                amount=amount,
                refunded=rng.choice((0, 0, 0, amount // 3)),
                store_id=rng.choice(STORES),
                touchpoint=rng.choice(TOUCHPOINTS),
                channel_code_id=rng.choice(CHANNEL_CODES),
                guide_id=rng.choice(GUIDES),
                campaign_id=rng.choice(CAMPAIGNS),
            )
    return data


# Attribution ------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def order_weights(
    data: Dataset,
    order: dict[str, Any],
    model: str,
    dimension: str,
    *,
    visible_customers: set[int] | None = None,
) -> dict[str, float]:
    """The credit of one order per value, walking its touches in Python."""
    key = DIMENSION_KEYS[dimension]
    touches: list[tuple[datetime, int, int, str]] = []
    if visible_customers is None or order["customer_id"] in visible_customers:
        for event in data.events:
            value = _text(event[key])
            if (
                event["customer_id"] == order["customer_id"]
                and value is not None
                and order["paid_at"] - LOOKBACK <= event["at"] <= order["paid_at"]
            ):
                touches.append((event["at"], 0, event["id"], value))
    touches.sort()
    own = _text(order[key])
    values = [touch[3] for touch in touches] + ([own] if own is not None else [])
    collapsed: list[str] = []
    for value in values:
        if not collapsed or collapsed[-1] != value:
            collapsed.append(value)
    if not collapsed:
        return {"(none)": 1.0}
    count = len(collapsed)
    weights: list[float]
    if model == "first_touch":
        weights = [1.0] + [0.0] * (count - 1)
    elif model == "last_touch":
        weights = [0.0] * (count - 1) + [1.0]
    elif count == 1:
        weights = [1.0]
    elif count == 2:
        weights = [0.5, 0.5]
    else:
        weights = [0.4] + [0.2 / (count - 2)] * (count - 2) + [0.4]
    credit: dict[str, float] = {}
    for value, weight in zip(collapsed, weights, strict=True):
        if weight:
            credit[value] = credit.get(value, 0.0) + weight
    return credit


def attribution_reference(
    data: Dataset,
    begin: datetime,
    finish: datetime,
    model: str,
    dimension: str,
    *,
    store_id: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Per value: credited GMV (float fen), credited orders, buyers; ``store_id``
    restricts like a store manager's scope (orders of the store, events of its
    customers)."""
    visible = None
    if store_id is not None:
        visible = {cid for cid, row in data.customers.items() if row["store_id"] == store_id}
    result: dict[str, dict[str, Any]] = {}
    for order in data.orders:
        if not begin <= order["paid_at"] < finish:
            continue
        if store_id is not None and order["store_id"] != store_id:
            continue
        for value, weight in order_weights(
            data, order, model, dimension, visible_customers=visible
        ).items():
            entry = result.setdefault(value, {"gmv": 0.0, "orders": 0.0, "buyers": set()})
            entry["gmv"] += order["gmv"] * weight
            entry["orders"] += weight
            entry["buyers"].add(order["customer_id"])
    return result


# Campaign ROI ------------------------------------------------------------------------

POINTS_VALUE = 100  # the member programme's default: 100 points pay ¥1


@dataclass
class RoiDataset(Dataset):
    campaigns: dict[int, dict[str, Any]] = field(default_factory=dict)
    lines: list[dict[str, Any]] = field(default_factory=list)  # order_id, campaign discount
    coupons: list[dict[str, Any]] = field(default_factory=list)
    points: list[dict[str, Any]] = field(default_factory=list)
    commissions: list[dict[str, Any]] = field(default_factory=list)
    draws: list[dict[str, Any]] = field(default_factory=list)


def add_campaign(
    session: Session,
    data: RoiDataset,
    *,
    name: str,
    kind: str,
    starts_at: datetime,
    ends_at: datetime,
    holdout_percent: int = 0,
    fixed_cost_amount: int = 0,
    status: str = "published",
    touchpoints: tuple[str, ...] = ("mp",),
    lifecycle_stage: str = "convert",
) -> Campaign:
    campaign = Campaign(
        public_id=f"cp_{uuid.uuid4().hex[:20]}",
        name=name,
        kind=kind,
        touchpoints=list(touchpoints),
        lifecycle_stage=lifecycle_stage,
        status=status,
        starts_at=starts_at,
        ends_at=ends_at,
        holdout_percent=holdout_percent,
        fixed_cost_amount=fixed_cost_amount,
    )
    session.add(campaign)
    session.flush()
    data.campaigns[campaign.id] = {
        "id": campaign.id,
        "public_id": campaign.public_id,
        "starts_at": naive(starts_at),
        "ends_at": naive(ends_at),
        "holdout_percent": holdout_percent,
        "fixed": fixed_cost_amount,
        "status": status,
        "touchpoints": touchpoints,
        "stage": lifecycle_stage,
        "object": campaign,
    }
    return campaign


def add_line(
    session: Session, data: RoiDataset, order: dict[str, Any], *, campaign_discount: int
) -> int:
    base = order["gmv"] + campaign_discount + 1000  # room for other discounts
    payable = base - campaign_discount
    line = OrderLine(
        order_id=order["id"],
        line_no=1,
        product_name="面霜",
        quantity=1,
        unit_list_price=base,
        unit_price=base,
        base_amount=base,
        discount_amount=campaign_discount,
        payable_amount=payable,
        price_breakdown=[
            {"step": "base_price", "kind": "sale_price", "amount": base, "label": "商品价"},
            {"step": "campaign_price", "amount": -campaign_discount, "label": "秒杀价"},
        ],
    )
    session.add(line)
    session.flush()
    data.lines.append({"order_id": order["id"], "campaign_discount": campaign_discount})
    return line.id


def build_roi(session: Session, rng: random.Random, *, now: datetime) -> RoiDataset:
    """Four campaigns (one a draft, one long over), 160 customers of two stores, a few
    merged, orders with campaign prices, coupons (one a lottery prize), points,
    commissions and lottery draws."""
    data = RoiDataset()
    day = timedelta(days=1)
    lottery = add_campaign(
        session,
        data,
        name="双11抽奖",
        kind="lottery",
        starts_at=now - 21 * day,
        ends_at=now - 7 * day,
        holdout_percent=30,
        fixed_cost_amount=50000,
        touchpoints=("mp", "wecom"),
        lifecycle_stage="retain",
    )
    referral = add_campaign(
        session,
        data,
        name="老带新",
        kind="referral",
        starts_at=now - 43 * day,
        ends_at=now - 23 * day,
        touchpoints=("wecom",),
        lifecycle_stage="refer",
    )
    add_campaign(
        session,
        data,
        name="草稿",
        kind="flash_sale",
        starts_at=now - 10 * day,
        ends_at=now - 5 * day,
        status="draft",
    )
    add_campaign(
        session,
        data,
        name="夏季",
        kind="flash_sale",
        starts_at=now - 120 * day,
        ends_at=now - 90 * day,
    )
    template = CouponTemplate(public_id=f"ct_{uuid.uuid4().hex[:20]}", name="券", kind="threshold")
    session.add(template)
    session.flush()
    draw_lottery = Lottery(campaign_id=lottery.id)
    session.add(draw_lottery)
    session.flush()
    customer_ids = [
        add_customer(
            session, data, at=now - rng.choice((5, 30, 400)) * day, store_id=rng.choice(STORES)
        )
        for _ in range(160)
    ]
    promoter = Promoter(
        public_id=f"pr_{uuid.uuid4().hex[:20]}",
        code=uuid.uuid4().hex[:12],
        kind="customer",
        customer_id=customer_ids[0],
    )
    session.add(promoter)
    session.flush()
    for customer_id in customer_ids:
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            campaign = rng.choice((lottery, referral, None, None))
            amount = rng.choice((5000, 9900, 12000, 30001))
            order = add_order(
                session,
                data,
                customer_id,
                paid_at=now - timedelta(hours=rng.randrange(0, 50 * 24, 5)),
                amount=amount,
                refunded=rng.choice((0, 0, 0, amount // 4)),
                store_id=rng.choice(STORES),
                touchpoint=rng.choice(TOUCHPOINTS),
                campaign_id=campaign.id if campaign else None,
            )
            line_id = add_line(session, data, order, campaign_discount=rng.choice((0, 800, 1500)))
            if rng.random() < 0.3:
                lottery_prize = rng.random() < 0.3
                used = rng.choice((300, 500, 1000))
                session.add(
                    Coupon(
                        code=f"C{uuid.uuid4().hex[:12]}",
                        template_id=template.id,
                        customer_id=customer_id,
                        status="used",
                        source="auto",
                        source_ref="lottery:ld_x" if lottery_prize else "journey:7",
                        valid_from=order["paid_at"].replace(tzinfo=UTC) - 9 * day,
                        valid_until=order["paid_at"].replace(tzinfo=UTC) + 9 * day,
                        claimed_at=order["paid_at"].replace(tzinfo=UTC) - day,
                        used_at=order["paid_at"].replace(tzinfo=UTC),
                        order_id=order["id"],
                        discount_amount=used,
                    )
                )
                data.coupons.append(
                    {"order_id": order["id"], "amount": used, "lottery": lottery_prize}
                )
            if rng.random() < 0.5:
                earned = rng.choice((99, 120, 301))
                session.add(
                    PointsEntry(
                        customer_id=customer_id,
                        kind="earn",
                        amount=earned,
                        remaining=earned,
                        order_id=order["id"],
                        reference=f"order:{order['id']}",
                        created_at=order["paid_at"].replace(tzinfo=UTC),
                    )
                )
                data.points.append({"order_id": order["id"], "amount": earned})
            if campaign is referral and rng.random() < 0.7:
                commission, reversed_amount = rng.choice(((500, 0), (900, 300), (400, 400)))
                session.add(
                    Commission(
                        campaign_id=referral.id,
                        order_id=order["id"],
                        order_line_id=line_id,
                        promoter_id=promoter.id,
                        customer_id=customer_id,
                        level=1,
                        base_amount=amount,
                        amount=commission,
                        reversed_amount=reversed_amount,
                        created_at=order["paid_at"].replace(tzinfo=UTC),
                    )
                )
                data.commissions.append(
                    {
                        "order_id": order["id"],
                        "campaign_id": referral.id,
                        "amount": commission - reversed_amount,
                        "at": order["paid_at"],
                    }
                )
        if rng.random() < 0.25:
            won = rng.random() < 0.5
            at = now - timedelta(hours=rng.randrange(0, 30 * 24, 7))
            value = rng.choice((1000, 2500)) if won else 0
            session.add(
                LotteryDraw(
                    public_id=f"ld_{uuid.uuid4().hex[:20]}",
                    lottery_id=draw_lottery.id,
                    campaign_id=lottery.id,
                    customer_id=customer_id,
                    day=at.date(),
                    random_value=rng.randrange(10000),
                    prize_table_version=1,
                    prize_table_hash="h",
                    outcome="won" if won else "thanks",
                    kind="coupon" if won else "thanks",
                    prize_name="券",
                    value_amount=value,
                    created_at=at,
                )
            )
            data.draws.append(
                {
                    "customer_id": customer_id,
                    "campaign_id": lottery.id,
                    "value": value,
                    "won": won,
                    "at": naive(at),
                }
            )
        if rng.random() < 0.2:
            add_event(
                session,
                data,
                customer_id,
                at=now - timedelta(hours=rng.randrange(1, 700)),
                campaign_id=rng.choice((lottery.id, referral.id)),
            )
    # Merge a few customers into others: their orders become the survivors'.
    for merged_id, survivor_id in zip(customer_ids[:6], customer_ids[6:12], strict=True):
        merged = session.get(Customer, merged_id)
        assert merged is not None
        merged.status = "merged"
        merged.merged_into_id = survivor_id
        data.customers[merged_id]["merged_into"] = survivor_id
    session.flush()
    return data


def survivor(data: Dataset, customer_id: int) -> int:
    return data.customers[customer_id].get("merged_into", customer_id)


def roi_costs_reference(
    data: RoiDataset, begin: datetime, finish: datetime, *, store_id: int | None = None
) -> dict[int, dict[str, int]]:
    """Itemised costs per campaign, from the generated rows."""
    own: dict[int, int] = {}
    for order in data.orders:
        if order["campaign_id"] is None or not begin <= order["paid_at"] < finish:
            continue
        if store_id is None or order["store_id"] == store_id:
            own[order["id"]] = order["campaign_id"]
    costs = {
        campaign_id: {
            "campaign_discount": 0,
            "coupons": 0,
            "points": 0,
            "commissions": 0,
            "prizes": 0,
            "fixed": campaign["fixed"],
        }
        for campaign_id, campaign in data.campaigns.items()
    }
    for line in data.lines:
        if line["order_id"] in own:
            costs[own[line["order_id"]]]["campaign_discount"] += line["campaign_discount"]
    for coupon in data.coupons:
        if coupon["order_id"] in own and not coupon["lottery"]:
            costs[own[coupon["order_id"]]]["coupons"] += coupon["amount"]
    points: dict[int, int] = {}
    for entry in data.points:
        if entry["order_id"] in own:
            campaign_id = own[entry["order_id"]]
            points[campaign_id] = points.get(campaign_id, 0) + entry["amount"]
    for campaign_id, amount in points.items():
        costs[campaign_id]["points"] = amount * 100 // POINTS_VALUE
    orders = {order["id"]: order for order in data.orders}
    for commission in data.commissions:
        order = orders[commission["order_id"]]
        if begin <= commission["at"] < finish and (
            store_id is None or order["store_id"] == store_id
        ):
            costs[commission["campaign_id"]]["commissions"] += commission["amount"]
    for draw in data.draws:
        customer = data.customers[draw["customer_id"]]
        if (
            draw["won"]
            and begin <= draw["at"] < finish
            and (store_id is None or customer["store_id"] == store_id)
        ):
            costs[draw["campaign_id"]]["prizes"] += draw["value"]
    return costs


def holdout_groups(
    data: RoiDataset, campaign_id: int, *, store_id: int | None = None
) -> dict[bool, list[int]]:
    """GMV of each eligible customer in the campaign window, by holdout membership."""
    campaign = data.campaigns[campaign_id]
    spend: dict[int, int] = {}
    for order in data.orders:
        if campaign["starts_at"] <= order["paid_at"] < campaign["ends_at"] and (
            store_id is None or order["store_id"] == store_id
        ):
            owner = survivor(data, order["customer_id"])
            spend[owner] = spend.get(owner, 0) + order["gmv"]
    groups: dict[bool, list[int]] = {False: [], True: []}
    for customer_id, customer in data.customers.items():
        if "merged_into" in customer or naive(customer["created_at"]) >= campaign["ends_at"]:
            continue
        if store_id is not None and customer["store_id"] != store_id:
            continue
        groups[in_holdout(campaign["object"], customer_id)].append(spend.get(customer_id, 0))
    return groups


# Diagnosis grid ----------------------------------------------------------------------

GRID_ROWS = ("oa", "mp", "wecom", "community", "video_channel", "offline")
GRID_STAGES = ("acquire", "retain", "convert", "refer", "recall")
REACH = timedelta(days=90)


@dataclass
class GridDataset(RoiDataset):
    identities: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)


def build_grid(
    session: Session, rng: random.Random, *, now: datetime, staff_id: int
) -> GridDataset:
    """Customers reachable in various ways, with orders over a long history (so the
    operational stages vary), referrals, browsing, and campaigns covering some cells."""
    data = GridDataset()
    day = timedelta(days=1)
    add_campaign(
        session,
        data,
        name="会员日",
        kind="flash_sale",
        starts_at=now - 20 * day,
        ends_at=now - 10 * day,
        touchpoints=("mp", "wecom"),
        lifecycle_stage="retain",
    )
    add_campaign(
        session,
        data,
        name="门店拉新",
        kind="assist",
        starts_at=now - 60 * day,
        ends_at=now - 25 * day,
        touchpoints=("pos", "h5"),
        lifecycle_stage="acquire",
    )
    add_campaign(
        session,
        data,
        name="朋友圈",
        kind="referral",
        starts_at=now - 20 * day,
        ends_at=now - 2 * day,
        touchpoints=("moments",),
        lifecycle_stage="refer",
    )
    add_campaign(
        session,
        data,
        name="草稿",
        kind="lottery",
        starts_at=now - 20 * day,
        ends_at=now - 2 * day,
        touchpoints=("oa",),
        lifecycle_stage="convert",
        status="draft",
    )
    ids = [
        add_customer(
            session, data, at=now - rng.choice((1, 40, 300)) * day, store_id=rng.choice(STORES)
        )
        for _ in range(140)
    ]
    for customer_id in ids:
        for kind in ("oa_openid", "mp_openid", "phone"):
            if rng.random() < 0.4:
                at = now - rng.choice((0.2, 3, 100)) * day
                session.add(
                    CustomerIdentity(
                        customer_id=customer_id,
                        kind=kind,
                        namespace="ns",
                        lookup_key=uuid.uuid4().hex,
                        value="v",
                        created_at=at,
                        last_seen_at=at,
                    )
                )
                data.identities.append({"customer_id": customer_id, "kind": kind, "at": naive(at)})
        if rng.random() < 0.3:
            added = now - rng.choice((0.2, 5, 200)) * day
            removed = rng.choice((None, None, now - 2 * day, now - 0.1 * day))
            session.add(
                CustomerStaffLink(
                    customer_id=customer_id, staff_id=staff_id, added_at=added, removed_at=removed
                )
            )
            data.links.append(
                {
                    "customer_id": customer_id,
                    "added": naive(added),
                    "removed": naive(removed) if removed else None,
                }
            )
        for _ in range(rng.choice((0, 0, 1, 3))):
            add_event(
                session,
                data,
                customer_id,
                at=now - timedelta(hours=rng.randrange(1, 150 * 24, 7)),
                type=rng.choice(("group_join", "product_view", "page_view")),
                touchpoint=rng.choice(("video_channel", "mp", None)),
            )
        for _ in range(rng.choice((0, 0, 1, 2, 3))):
            order = add_order(
                session,
                data,
                customer_id,
                paid_at=now - timedelta(hours=rng.randrange(1, 400 * 24, 11)),
                amount=rng.choice((5000, 12000)),
                store_id=rng.choice(STORES),
                touchpoint=rng.choice(("mp", "offline", "pos", None)),
                source=rng.choice(("mall", "mall", "store")),
                referrer_customer_id=rng.choice((None, None, None, *ids[:20])),
            )
            stored = session.get(Order, order["id"])
            assert stored is not None
            order["source"], order["referrer"] = stored.source, stored.referrer_customer_id
    session.flush()
    return data


def grid_reference(
    data: GridDataset,
    stages: dict[int, str | None],
    begin: datetime,
    finish: datetime,
    *,
    store_id: int | None = None,
) -> dict[tuple[str, str], int]:
    """Audience per cell; ``stages`` are the stored operational stages (traits)."""
    reach_from = finish - REACH
    paid: dict[int, list[dict[str, Any]]] = {}
    for order in data.orders:
        if order["paid_at"] < finish:
            paid.setdefault(order["customer_id"], []).append(order)
    referrers = {order["referrer"] for orders in paid.values() for order in orders}
    sizes = {(row, stage): 0 for row in GRID_ROWS for stage in GRID_STAGES}
    for customer_id, customer in data.customers.items():
        if naive(customer["created_at"]) >= finish:
            continue
        if store_id is not None and customer["store_id"] != store_id:
            continue
        kinds = {
            i["kind"]
            for i in data.identities
            if i["customer_id"] == customer_id and i["at"] < finish
        }
        events = [e for e in data.events if e["customer_id"] == customer_id and e["at"] < finish]
        orders = paid.get(customer_id, [])
        reach = {
            "oa": "oa_openid" in kinds,
            "mp": "mp_openid" in kinds,
            "wecom": any(
                link["customer_id"] == customer_id
                and link["added"] < finish
                and (link["removed"] is None or link["removed"] >= finish)
                for link in data.links
            ),
            "community": any(e["type"] == "group_join" and e["at"] >= reach_from for e in events),
            "video_channel": any(
                e["touchpoint"] == "video_channel" and e["at"] >= reach_from for e in events
            ),
            "offline": any(
                o["source"] == "store" or o["touchpoint"] in ("offline", "pos") for o in orders
            ),
        }
        stage = stages.get(customer_id)
        population = {
            "acquire": not orders,
            "retain": bool(orders) and stage in ("new", "active", "recalled"),
            "convert": any(e["at"] >= begin for e in events)
            and not any(o["paid_at"] >= begin for o in orders),
            "refer": len(orders) >= 2 and customer_id not in referrers,
            "recall": bool(orders) and stage in ("dormant", "churned"),
        }
        for row in GRID_ROWS:
            for column in GRID_STAGES:
                sizes[(row, column)] += reach[row] and population[column]
    return sizes


def participants_reference(
    data: Dataset, begin: datetime, finish: datetime, *, store_id: int | None = None
) -> dict[int, tuple[int, int]]:
    """(orders, participants) per campaign: its orders of the period in scope, and the
    customers (merges resolved) with one of them or a tracked event of it."""
    orders: dict[int, set[int]] = {}
    people: dict[int, set[int]] = {}
    for order in data.orders:
        campaign_id = order["campaign_id"]
        if campaign_id is None or not begin <= order["paid_at"] < finish:
            continue
        if store_id is None or order["store_id"] == store_id:
            orders.setdefault(campaign_id, set()).add(order["id"])
            people.setdefault(campaign_id, set()).add(survivor(data, order["customer_id"]))
    for event in data.events:
        if event["campaign_id"] is None or not begin <= event["at"] < finish:
            continue
        owner = survivor(data, event["customer_id"])
        if store_id is None or data.customers[owner]["store_id"] == store_id:
            people.setdefault(event["campaign_id"], set()).add(owner)
    return {
        campaign_id: (len(orders.get(campaign_id, ())), len(customers))
        for campaign_id, customers in people.items()
    }
