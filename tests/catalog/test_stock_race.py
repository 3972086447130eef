"""200 buyers race for the last 10 units: exactly 10 win, on SQLite and PostgreSQL.

Each thread runs its own transaction through ``session_factory`` (real commits on
separate connections), so the database — not the test — serialises the conditional
UPDATEs in ``siyu.catalog.stock.reserve``.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from siyu.catalog import stock
from siyu.catalog.errors import StockInsufficient
from siyu.core.db import transaction
from siyu.models.stock import StockLevel, StockMovement, StockMovementKind
from tests.catalog.factories import make_location, make_product, make_sku

BUYERS = 200
UNITS = 10


def test_two_hundred_buyers_for_ten_units(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        sku = make_sku(session, product=make_product(session))
        store = make_location(session)
        stock.receive(session, [stock.StockItem(sku.id, store.id, UNITS)], actor="test")
        item = stock.StockItem(sku.id, store.id, 1)

    won: list[int] = []
    sold_out: list[int] = []
    unexpected: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(BUYERS)

    def buy(buyer: int) -> None:
        barrier.wait()
        try:
            with transaction(session_factory) as session:
                stock.reserve(session, [item], order_id=buyer, actor=f"order:{buyer}")
        except StockInsufficient:
            with lock:
                sold_out.append(buyer)
            return
        except BaseException as error:  # collected and asserted below
            with lock:
                unexpected.append(error)
            return
        with lock:
            won.append(buyer)

    threads = [threading.Thread(target=buy, args=(buyer,)) for buyer in range(BUYERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert unexpected == []
    assert (len(won), len(sold_out)) == (UNITS, BUYERS - UNITS)
    with transaction(session_factory) as session:
        level = session.get(StockLevel, (sku.id, store.id))
        assert level is not None
        assert (level.on_hand, level.reserved) == (UNITS, UNITS)
        reserved_orders = session.scalars(
            select(StockMovement.order_id).where(
                StockMovement.kind == StockMovementKind.RESERVE.value
            )
        ).all()
        assert sorted(o for o in reserved_orders if o is not None) == sorted(won)
        assert session.scalar(select(func.count()).select_from(StockMovement)) == UNITS + 1
        assert stock.audit(session) == []
