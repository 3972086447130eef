"""What goes into a demo order: SKUs by popularity, quantities, prices, the address."""

from __future__ import annotations

import bisect
import json
import random
from itertools import accumulate

from siyu.core.crypto import PiiCipher
from siyu.demo.brand.catalog import Catalog, DemoSku
from siyu.demo.brand.names import person_name
from siyu.demo.brand.orders import PricedItem
from siyu.demo.brand.people import DemoCustomer
from siyu.models.order import Fulfilment
from siyu.orders.checkout import ADDRESS_CONTEXT

REGIONS = (
    "上海市 静安区",
    "浙江省 杭州市 西湖区",
    "江苏省 南京市 鼓楼区",
    "四川省 成都市 武侯区",
    "北京市 朝阳区",
    "广东省 深圳市 南山区",
)
STREETS = ("幸福路", "人民路", "中山路", "建设路")


class BasketPicker:
    def __init__(self, rng: random.Random, catalog: Catalog, cipher: PiiCipher) -> None:
        self.rng = rng
        self.catalog = catalog
        self.cipher = cipher
        # Cumulative popularity per channel: a bisect picks a SKU in O(log n).
        self._assortment = {
            channel: (skus, list(accumulate(sku.popularity for sku in skus)))
            for channel in ("mall", "store")
            for skus in [catalog.for_channel(channel)]
        }
        self._by_id = {sku.id: sku for sku in catalog.skus}

    def sku(self, sku_id: int) -> DemoSku:
        return self._by_id[sku_id]

    def items(
        self, channel: str, customer: DemoCustomer, price_store: int | None, location_id: int
    ) -> list[PricedItem]:
        """1–4 distinct SKUs (bigger baskets for big spenders), each at its base price:
        the store's own price when the order is in a store's context (千店千面)."""
        rng = self.rng
        skus, cumulative = self._assortment[channel]
        count = 1 + min(3, int(rng.expovariate(1.0) * 0.6 * customer.spend_scale))
        chosen: dict[int, DemoSku] = {}
        for _ in range(count):
            sku = skus[bisect.bisect_left(cumulative, rng.random() * cumulative[-1])]
            chosen.setdefault(sku.id, sku)
        items: list[PricedItem] = []
        for sku in chosen.values():
            quantity = 1 + (rng.random() < 0.08 * customer.spend_scale) + (rng.random() < 0.02)
            override = self.catalog.store_prices.get((sku.id, price_store)) if price_store else None
            items.append(
                PricedItem(
                    sku_id=sku.id,
                    product_id=sku.product_id,
                    category_id=sku.category_id,
                    product_name=sku.product_name,
                    sku_code=sku.code,
                    specs=sku.specs,
                    image=sku.image,
                    quantity=quantity,
                    unit_list_price=sku.list_price,
                    unit_price=override if override is not None else sku.sale_price,
                    price_kind="store_price" if override is not None else "sale_price",
                    location_id=location_id,
                )
            )
        return items

    def address(self, fulfilment: Fulfilment) -> str | None:
        """A delivery address, encrypted as the checkout encrypts it."""
        if fulfilment is not Fulfilment.DELIVERY:
            return None
        rng = self.rng
        address = {
            "recipient": person_name(rng, female=rng.random() < 0.85),
            "phone": f"1{rng.choice('3456789')}{rng.randrange(10**9):09d}",
            "region": rng.choice(REGIONS),
            "street": f"{rng.choice(STREETS)}{rng.randint(1, 999)}号",
        }
        return self.cipher.encrypt(json.dumps(address, ensure_ascii=False), context=ADDRESS_CONTEXT)
