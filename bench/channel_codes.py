"""Channel-code figures: attribution batches, QR codes and posters (not collected by pytest).

    .venv/bin/python bench/channel_codes.py --batches 20

* attribution: ``apply_touches`` on batches of 1,000 touches over 3 codes (one with a
  guide, two with tags), half first visits of fresh customers, half repeat visits;
  one transaction per batch on SQLite. Baseline, same workload on a fresh database:
  per touch, load the customer through the ORM and set the fields in Python (the
  check-then-act way this module avoids), visits added as ORM objects.
* QR: PNG of a short URL at the console's scale (8) and the download scale (20).
* poster: compose on the plain 750×1334 background with a caption.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns.channel_codes import attribution, poster, qr
from siyu.campaigns.channel_codes.attribution import Touch, VisitHow
from siyu.campaigns.channel_codes.schemas import PosterLayout
from siyu.core import clock
from siyu.core.db import make_engine, make_session_factory, transaction
from siyu.core.migrations import upgrade
from siyu.models.channel_code import ChannelCode, ChannelCodeVisit
from siyu.models.customer import Customer

BATCH = 1_000


def setup(directory: Path, name: str, customers: int) -> tuple[sessionmaker[Session], list[int]]:
    url = f"sqlite:///{directory / name}"
    upgrade(url)
    factory = make_session_factory(make_engine(url))
    now = clock.now()
    with transaction(factory) as session:
        for index, tags in enumerate(([], ["小红书"], ["兴趣:护肤", "包裹卡"])):
            session.add(
                ChannelCode(
                    code=f"bench{index}",
                    name="bench",
                    kind="other",
                    touchpoint="h5",
                    target_url="/",
                    tag_names=tags,
                    poster={},
                )
            )
        session.execute(
            insert(Customer),
            [{"consent": {}, "created_at": now, "updated_at": now} for _ in range(customers)],
        )
    with transaction(factory) as session:
        code_ids = list(session.scalars(select(ChannelCode.id).order_by(ChannelCode.id)))
    return factory, code_ids


def workload(batches: int, code_ids: list[int]) -> list[list[Touch]]:
    now = clock.now()
    result = []
    for batch in range(batches):
        touches = []
        for index in range(BATCH):
            fresh = index % 2 == 0
            # Fresh customers are new ids each batch; repeat visitors come from batch 0's ids.
            customer = batch * BATCH + index + 1 if fresh else index + 1
            touches.append(
                Touch(
                    customer_id=customer,
                    channel_code_id=code_ids[index % 3],
                    touchpoint="h5",
                    how=VisitHow.VISIT,
                    at=now + timedelta(seconds=batch * BATCH + index),
                    is_new_customer=fresh,
                )
            )
        result.append(touches)
    return result


def naive(session: Session, touches: list[Touch]) -> None:
    for touch in touches:
        customer = session.get(Customer, touch.customer_id)
        assert customer is not None
        if customer.first_touch_at is None:
            customer.first_touch_at = touch.at
            customer.first_touch_channel_code_id = touch.channel_code_id
        if customer.last_touch_at is None or customer.last_touch_at < touch.at:
            customer.last_touch_at = touch.at
            customer.last_touch_channel_code_id = touch.channel_code_id
        session.add(
            ChannelCodeVisit(
                channel_code_id=touch.channel_code_id,
                customer_id=touch.customer_id,
                is_new_customer=touch.is_new_customer,
                how=touch.how,
                occurred_at=touch.at,
            )
        )


def timed_batches(factory: sessionmaker[Session], batches: list[list[Touch]], fn: object) -> float:
    started = time.perf_counter()
    for touches in batches:
        with transaction(factory) as session:
            fn(session, touches)  # type: ignore[operator]
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=20)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        customers = arguments.batches * BATCH
        factory, code_ids = setup(directory, "fast.db", customers)
        batches = workload(arguments.batches, code_ids)
        fast = timed_batches(factory, batches, attribution.apply_touches)
        base_factory, base_ids = setup(directory, "naive.db", customers)
        slow = timed_batches(base_factory, workload(arguments.batches, base_ids), naive)
        total = arguments.batches * BATCH
        per_batch = fast / arguments.batches * 1000
        print(f"attribution: {total / fast:,.0f} touches/s ({per_batch:.1f} ms per 1,000)")
        print(f"naive ORM baseline: {total / slow:,.0f} touches/s; ratio {slow / fast:.1f}x")

    url = "https://shop.example.com/c/Ab3dEf7h"
    for scale in (8, 20):
        started = time.perf_counter()
        for _ in range(200):
            qr.png(url, scale=scale)
        per = (time.perf_counter() - started) / 200 * 1000
        print(f"QR PNG scale {scale}: {per:.2f} ms each")
    with tempfile.TemporaryDirectory() as folder:
        layout = PosterLayout(caption="扫码加入会员，领 20 元券")
        started = time.perf_counter()
        for _ in range(20):
            poster.compose(
                url=url, layout=layout, data_dir=Path(folder), background=None, title="门店"
            )
        per = (time.perf_counter() - started) / 20 * 1000
        print(
            f"poster 750x1334 with caption: {per:.1f} ms each (CJK font: {poster.has_cjk_font()})"
        )


if __name__ == "__main__":
    main()
