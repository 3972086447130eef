"""The demo brand's goods: categories, products (SPU) with 1–6 SKUs, store prices."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from siyu.demo.brand.writer import BulkWriter, IdAllocator
from siyu.models.catalog import Category, Product, ProductStatus, Sku, StorePrice

BRAND = "拾光"
SERIES = (
    "光感",
    "柔雾",
    "澄净",
    "晨露",
    "绒感",
    "琉光",
    "山茶",
    "白松",
    "雪绒",
    "云朵",
    "初蕊",
    "玫瑰",
)


@dataclass(frozen=True)
class CategorySpec:
    name: str
    colour: str
    # (product base names, spec name, spec values, price range in fen)
    lines: tuple[tuple[tuple[str, ...], str, tuple[str, ...], tuple[int, int]], ...]
    # Relative demand of the category.
    weight: float


CATEGORIES = (
    CategorySpec(
        "口红",
        "#c2185b",
        (
            (
                ("丝绒雾面唇膏", "水光唇釉", "哑光唇泥", "滋润口红"),
                "色号",
                (
                    "#01 正红",
                    "#02 豆沙",
                    "#03 枫叶",
                    "#04 奶茶",
                    "#05 番茄",
                    "#06 玫瑰",
                    "#07 干枯玫瑰",
                ),
                (15900, 32000),
            ),
        ),
        3.0,
    ),
    CategorySpec(
        "底妆",
        "#d7a86e",
        (
            (
                ("持妆粉底液", "气垫BB霜", "轻薄粉底霜"),
                "色号",
                ("象牙白", "自然色", "暖调自然", "小麦色"),
                (22900, 46000),
            ),
            (("控油散粉", "柔焦蜜粉饼", "遮瑕膏"), "规格", ("标准装", "mini装"), (9900, 26000)),
        ),
        2.0,
    ),
    CategorySpec(
        "护肤",
        "#4caf93",
        (
            (
                ("玻尿酸精华", "修护面霜", "烟酰胺精华水", "抗皱眼霜", "维C精华"),
                "规格",
                ("15ml", "30ml", "50ml"),
                (19900, 68000),
            ),
            (
                ("氨基酸洁面乳", "舒缓爽肤水", "补水面膜"),
                "规格",
                ("单件", "两件装", "五片装"),
                (6900, 19900),
            ),
        ),
        3.5,
    ),
    CategorySpec(
        "香水",
        "#7e57c2",
        (
            (
                ("白茶淡香水", "玫瑰香水", "木质香水", "柑橘古龙水"),
                "规格",
                ("30ml", "50ml", "100ml"),
                (29900, 89000),
            ),
        ),
        1.0,
    ),
    CategorySpec(
        "个护",
        "#42a5f5",
        (
            (
                ("氨基酸洗发水", "香氛身体乳", "护手霜", "沐浴露", "洗护套装"),
                "规格",
                ("旅行装", "标准装", "家庭装"),
                (3900, 16900),
            ),
        ),
        2.2,
    ),
    CategorySpec(
        "礼盒",
        "#e53935",
        (
            (
                ("七夕限定礼盒", "新年限定礼盒", "生日惊喜礼盒", "护肤体验装"),
                "规格",
                ("礼盒装",),
                (39900, 99900),
            ),
        ),
        0.6,
    ),
)


@dataclass(frozen=True)
class DemoSku:
    id: int
    product_id: int
    category_id: int
    category_name: str
    product_name: str
    code: str
    specs: dict[str, Any]
    image: str
    list_price: int
    sale_price: int
    channels: tuple[str, ...]
    # How often this SKU is bought, relative to others (a few best sellers).
    popularity: float


@dataclass
class Catalog:
    skus: list[DemoSku]
    # (sku_id, store location id) -> that store's price (千店千面).
    store_prices: dict[tuple[int, int], int]

    def for_channel(self, channel: str) -> list[DemoSku]:
        return [sku for sku in self.skus if channel in sku.channels]


def cover_image(name: str, colour: str) -> str:
    """A small inline SVG cover, so the demo shows images with no network and no files."""
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 300 300'>"
        f"<rect width='300' height='300' fill='{colour}'/>"
        "<text x='150' y='165' font-size='34' text-anchor='middle' fill='white'>"
        f"{name[:6]}</text></svg>"
    )
    return "data:image/svg+xml," + quote(svg, safe=":/='<> ")


def _round_price(fen: int) -> int:
    # Prices end in 9 yuan-ish like a real price list: 199.00, 259.00 …
    return max(900, (fen // 1000) * 1000 + 900)


def build_catalog(
    rng: random.Random,
    ids: IdAllocator,
    writer: BulkWriter,
    *,
    store_ids: list[int],
    start: datetime,
) -> Catalog:
    skus: list[DemoSku] = []
    product_number = 0
    for sort_order, spec in enumerate(CATEGORIES):
        category_id = ids.take("category")
        writer.add(
            Category.__table__,
            {
                "id": category_id,
                "parent_id": None,
                "name": spec.name,
                "sort_order": sort_order,
                "is_active": True,
                "created_at": start,
                "updated_at": start,
            },
        )
        for base_names, spec_name, values, (low, high) in spec.lines:
            for base_name in base_names:
                for series in rng.sample(SERIES, 3):
                    product_number += 1
                    product_name = f"{BRAND}{series}{base_name}"
                    skus.extend(
                        _product(
                            rng,
                            ids,
                            writer,
                            start,
                            product_number,
                            product_name,
                            category_id,
                            spec,
                            spec_name,
                            values,
                            low,
                            high,
                        )
                    )
    store_prices = _store_prices(rng, ids, writer, skus, store_ids, start)
    return Catalog(skus, store_prices)


def _product(
    rng: random.Random,
    ids: IdAllocator,
    writer: BulkWriter,
    start: datetime,
    number: int,
    name: str,
    category_id: int,
    spec: CategorySpec,
    spec_name: str,
    values: tuple[str, ...],
    low: int,
    high: int,
) -> list[DemoSku]:
    product_id = ids.take("product")
    code = f"SG{number:04d}"
    image = cover_image(name.removeprefix(BRAND), spec.colour)
    # Most products are on sale; a couple wait in draft or were taken off, as in a real
    # catalog. Only on-sale products get SKUs that sell.
    roll = rng.random()
    status = (
        ProductStatus.ON_SALE
        if roll < 0.95
        else (ProductStatus.DRAFT if roll < 0.975 else ProductStatus.OFF)
    )
    # Gift boxes are mall-only; a few products are store-exclusive (体验装 at the till).
    if spec.name == "礼盒":
        channels: tuple[str, ...] = ("mall",)
    elif rng.random() < 0.08:
        channels = ("store",)
    elif rng.random() < 0.08:
        channels = ("mall",)
    else:
        channels = ("mall", "store")
    writer.add(
        Product.__table__,
        {
            "id": product_id,
            "code": code,
            "name": name,
            "subtitle": f"{spec.name} · {BRAND}人气单品",
            "category_id": category_id,
            "status": status.value,
            "description": f"{name}：{BRAND}自研配方，专柜同款。",
            "images": [image],
            "spec_names": [spec_name],
            "sort_weight": rng.randint(0, 100),
            "created_at": start,
            "updated_at": start,
        },
    )
    count = min(len(values), rng.choice((1, 2, 3, 3, 4, 5, 6)))
    chosen = values[:count] if count == len(values) else rng.sample(values, count)
    base_price = _round_price(rng.randint(low, high))
    popularity = rng.paretovariate(1.6) * spec.weight
    result: list[DemoSku] = []
    for index, value in enumerate(chosen):
        sku_id = ids.take("sku")
        # Larger sizes cost more; colours of one lipstick cost the same.
        step = index if spec_name == "规格" else 0
        list_price = _round_price(int(base_price * (1 + 0.45 * step)))
        discounted = rng.random() < 0.35
        sale_price = _round_price(int(list_price * 0.85)) if discounted else list_price
        sku_code = f"{code}-{index + 1:02d}"
        writer.add(
            Sku.__table__,
            {
                "id": sku_id,
                "product_id": product_id,
                "code": sku_code,
                "specs": {spec_name: value},
                "list_price": list_price,
                "sale_price": sale_price,
                "channels": list(channels),
                "is_active": True,
                "per_order_limit": 5 if spec.name == "礼盒" else 99,
                "weight_grams": rng.randint(40, 600),
                "image": None,
                "created_at": start,
                "updated_at": start,
            },
        )
        if status is ProductStatus.ON_SALE:
            result.append(
                DemoSku(
                    sku_id,
                    product_id,
                    category_id,
                    spec.name,
                    name,
                    sku_code,
                    {spec_name: value},
                    image,
                    list_price,
                    sale_price,
                    channels,
                    popularity * rng.uniform(0.5, 1.5),
                )
            )
    return result


def _store_prices(
    rng: random.Random,
    ids: IdAllocator,
    writer: BulkWriter,
    skus: list[DemoSku],
    store_ids: list[int],
    start: datetime,
) -> dict[tuple[int, int], int]:
    """A few stores price a few SKUs their own way (千店千面): mostly a local discount."""
    prices: dict[tuple[int, int], int] = {}
    for sku in rng.sample(skus, min(12, len(skus))):
        store_id = rng.choice(store_ids)
        price = _round_price(int(sku.sale_price * rng.choice((0.8, 0.9, 0.95))))
        prices[(sku.id, store_id)] = price
        writer.add(
            StorePrice.__table__,
            {
                "id": ids.take("store_price"),
                "sku_id": sku.id,
                "location_id": store_id,
                "price": price,
                "is_listed": True,
                "created_at": start,
                "updated_at": start,
            },
        )
    return prices
