"""Places and staff of the demo brand: stores, the warehouse, guides, channel codes."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from siyu.core import security
from siyu.demo.brand.names import person_name
from siyu.demo.brand.writer import BulkWriter, IdAllocator
from siyu.models.channel_code import ChannelCode, ChannelCodeKind
from siyu.models.location import Location, LocationKind
from siyu.models.staff import Role, Staff, StaffRole

# (code, name, city, address, latitude, longitude)
STORES = (
    (
        "SH-JA",
        "拾光 上海静安嘉里中心店",
        "上海",
        "静安区南京西路1515号嘉里中心B1",
        31.2243,
        121.4466,
    ),
    (
        "SH-XH",
        "拾光 上海徐汇港汇恒隆店",
        "上海",
        "徐汇区虹桥路1号港汇恒隆广场L2",
        31.1955,
        121.4367,
    ),
    (
        "HZ-HB",
        "拾光 杭州湖滨银泰店",
        "杭州",
        "上城区延安路258号湖滨银泰in77 C区",
        30.2596,
        120.1642,
    ),
    ("NJ-DJ", "拾光 南京德基广场店", "南京", "玄武区中山路18号德基广场二期L1", 32.0436, 118.7841),
    ("CD-TG", "拾光 成都太古里店", "成都", "锦江区中纱帽街8号远洋太古里", 30.6536, 104.0823),
)
WAREHOUSE = (
    "WH-JX",
    "拾光 嘉兴电商仓",
    "嘉兴",
    "南湖区亚太路1052号智慧物流园3号库",
    30.7469,
    120.7555,
)
GUIDES_PER_STORE = 4
OPERATOR_USERNAME = "demo_ops"


@dataclass
class DemoStore:
    id: int
    code: str
    name: str
    city: str
    guide_ids: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class DemoCode:
    id: int
    code: str
    kind: str
    touchpoint: str
    # Relative share of new customers arriving through this code.
    weight: float
    store_id: int | None
    guide_id: int | None
    # Customers from in-store codes tend to buy at the till.
    offline_affinity: float
    tag_names: tuple[str, ...]


@dataclass
class Venues:
    stores: list[DemoStore]
    warehouse_id: int
    guide_store: dict[int, int]
    codes: list[DemoCode]
    operator: str


def _location_row(
    location_id: int,
    spec: tuple[str, str, str, str, float, float],
    kind: LocationKind,
    now: datetime,
) -> dict[str, object]:
    code, name, city, address, latitude, longitude = spec
    is_store = kind is LocationKind.STORE
    return {
        "id": location_id,
        "code": code,
        "name": name,
        "kind": kind.value,
        "city": city,
        "address": address,
        "phone": "400-820-" + str(1000 + location_id)[-4:],
        "latitude": latitude,
        "longitude": longitude,
        "opening_hours": "10:00-22:00" if is_store else "",
        "is_active": True,
        "accepts_pickup": is_store,
        "ships_online": not is_store,
        "fulfilment_priority": 100 if is_store else 10,
        "created_at": now,
        "updated_at": now,
    }


def _staff_row(
    staff_id: int,
    username: str,
    display_name: str,
    store_id: int | None,
    password_hash: str,
    now: datetime,
) -> dict[str, object]:
    return {
        "id": staff_id,
        "username": username,
        "display_name": display_name,
        "password_hash": password_hash,
        "is_active": True,
        "store_id": store_id,
        "language": "zh-CN",
        "last_login_at": None,
        "session_generation": 0,
        "created_at": now,
        "updated_at": now,
    }


def build_venues(
    rng: random.Random, ids: IdAllocator, writer: BulkWriter, *, start: datetime
) -> Venues:
    locations = Location.__table__
    stores: list[DemoStore] = []
    for spec in STORES:
        location_id = ids.take("location")
        writer.add(locations, _location_row(location_id, spec, LocationKind.STORE, start))
        stores.append(DemoStore(location_id, spec[0], spec[1], spec[2]))
    warehouse_id = ids.take("location")
    writer.add(locations, _location_row(warehouse_id, WAREHOUSE, LocationKind.WAREHOUSE, start))

    # Nobody logs in as these accounts: one argon2 hash of a random password, computed
    # once (hashing costs ~50 ms each), makes every one of them unusable for sign-in.
    unusable_hash = security.hash_password(security.generate_password())
    staff, roles = Staff.__table__, StaffRole.__table__
    guide_store: dict[int, int] = {}
    number = 0
    for store in stores:
        manager_id = ids.take("staff")
        writer.add(
            staff,
            _staff_row(
                manager_id,
                f"manager_{store.code.lower().replace('-', '_')}",
                person_name(rng, female=True) + "（店长）",
                store.id,
                unusable_hash,
                start,
            ),
        )
        writer.add(roles, {"staff_id": manager_id, "role": Role.STORE_MANAGER.value})
        for _ in range(GUIDES_PER_STORE):
            number += 1
            guide_id = ids.take("staff")
            writer.add(
                staff,
                _staff_row(
                    guide_id,
                    f"guide{number:02d}",
                    person_name(rng, female=rng.random() < 0.85),
                    store.id,
                    unusable_hash,
                    start,
                ),
            )
            writer.add(roles, {"staff_id": guide_id, "role": Role.GUIDE.value})
            store.guide_ids.append(guide_id)
            guide_store[guide_id] = store.id
    operator_id = ids.take("staff")
    writer.add(
        staff, _staff_row(operator_id, OPERATOR_USERNAME, "客服 小光", None, unusable_hash, start)
    )
    writer.add(roles, {"staff_id": operator_id, "role": Role.OPERATOR.value})

    codes = _channel_codes(ids, writer, stores, start)
    return Venues(stores, warehouse_id, guide_store, codes, f"staff:{OPERATOR_USERNAME}")


def _channel_codes(
    ids: IdAllocator, writer: BulkWriter, stores: list[DemoStore], start: datetime
) -> list[DemoCode]:
    table = ChannelCode.__table__
    codes: list[DemoCode] = []

    def add(
        code: str,
        name: str,
        kind: ChannelCodeKind,
        touchpoint: str,
        weight: float,
        *,
        store_id: int | None = None,
        guide_id: int | None = None,
        offline: float = 0.05,
        tags: list[str] | None = None,
    ) -> None:
        code_id = ids.take("channel_code")
        writer.add(
            table,
            {
                "id": code_id,
                "code": code,
                "name": name,
                "kind": kind.value,
                "touchpoint": touchpoint,
                "target_url": "/shop",
                "is_active": True,
                "guide_id": guide_id,
                "store_id": store_id,
                "tag_names": tags or [],
                "poster": {},
                "note": None,
                "created_by": "demo",
                "created_at": start,
                "updated_at": start,
            },
        )
        codes.append(
            DemoCode(
                code_id,
                code,
                kind.value,
                touchpoint,
                weight,
                store_id,
                guide_id,
                offline,
                tuple(tags or ()),
            )
        )

    for store in stores:
        slug = store.code.lower()
        add(
            f"{slug}-poster",
            f"{store.name} 收银台海报",
            ChannelCodeKind.STORE_POSTER,
            "offline",
            4.0,
            store_id=store.id,
            offline=0.55,
            tags=["门店新客"],
        )
        for guide_id in store.guide_ids:
            add(
                f"{slug}-guide-{guide_id}",
                f"{store.name} 导购企微码 #{guide_id}",
                ChannelCodeKind.GUIDE,
                "wecom",
                0.8,
                store_id=store.id,
                guide_id=guide_id,
                offline=0.45,
                tags=["导购添加"],
            )
    add(
        "parcel-card",
        "电商包裹卡（加企微领小样）",
        ChannelCodeKind.PARCEL_CARD,
        "wecom",
        7.0,
        tags=["包裹卡"],
    )
    add(
        "xhs-note-lip",
        "小红书 唇釉种草笔记",
        ChannelCodeKind.XIAOHONGSHU,
        "h5",
        5.0,
        tags=["小红书"],
    )
    add(
        "xhs-kol-skincare",
        "小红书 KOL 护肤测评",
        ChannelCodeKind.XIAOHONGSHU,
        "h5",
        3.0,
        tags=["小红书"],
    )
    add("douyin-live", "抖音 品牌直播间", ChannelCodeKind.DOUYIN, "h5", 4.0, tags=["抖音"])
    add("ad-moments", "朋友圈广告 新品试用", ChannelCodeKind.AD, "mp", 4.5, tags=["广告"])
    add("ad-mp-banner", "小程序广告 大牌平替", ChannelCodeKind.AD, "mp", 2.5, tags=["广告"])
    add("oa-menu", "公众号菜单 会员中心", ChannelCodeKind.OTHER, "oa", 3.0)
    add(
        "tmall-insert",
        "天猫旗舰店 入会卡",
        ChannelCodeKind.ECOMMERCE,
        "ecommerce",
        2.0,
        tags=["电商迁移"],
    )
    add(
        "event-popup",
        "快闪活动 上海新天地",
        ChannelCodeKind.EVENT,
        "offline",
        1.0,
        offline=0.3,
        tags=["快闪"],
    )
    return codes
