"""From reservations to orders, and units back when an order does not happen.

* :func:`drain` (Redis engine) moves queued reservations from Redis into the
  database in batches. Each batch is first moved atomically to a *processing* list,
  written (insert-or-nothing by the reservation's public id, and only a new row
  moves ``stock_left`` and the tally), committed, and only then removed from the
  processing list. A crash between commit and removal replays the entries: the
  insert finds them and does nothing — never lost, never doubled.
* :func:`place_orders` turns ``reserved`` reservations into ordinary mall orders
  through ``checkout.place_order`` with a ``CampaignOption``; the placement hook
  (:func:`on_placed`) marks the reservation ``ordered`` in the order's transaction.
  An order that cannot be written (the SKU went off sale, the warehouse ran dry)
  marks the reservation ``failed`` and gives its unit back: never stranded.
* :func:`release` (an unpaid order cancelled or timed out) gives the unit back.

Giving back on the Redis engine happens in the database at once and in Redis
through the job ``flash_sale.return_units`` (idempotent by reservation id), so a
crash after the commit cannot lose the unit.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from siyu.campaigns import pricing
from siyu.campaigns.flash_sale import driver_sql, engines
from siyu.campaigns.flash_sale.engines import RedisStock, ReserveRequest
from siyu.core import clock, jobs
from siyu.core.crypto import PiiCipher
from siyu.core.db import dialect_insert, rowcount, transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.models.campaign import CampaignKind
from siyu.models.flash_sale import (
    FlashSaleItem,
    FlashSaleReservation,
    ReservationStatus,
    StockEngine,
)
from siyu.models.order import Fulfilment, Order, OrderLine
from siyu.orders import checkout

logger = logging.getLogger(__name__)
ADDRESS_CONTEXT = "flash_sale.address"
RETURN_TASK = "flash_sale.return_units"
ORDER_ACTOR = "flash_sale"


def encrypt_address(cipher: PiiCipher, address: dict[str, str] | None) -> str | None:
    if not address:
        return None
    return cipher.encrypt(json.dumps(address, ensure_ascii=False), context=ADDRESS_CONTEXT)


def decrypt_address(cipher: PiiCipher, token: str | None) -> dict[str, str] | None:
    if not token:
        return None
    address: dict[str, str] = json.loads(cipher.decrypt(token, context=ADDRESS_CONTEXT))
    return address


def write_drained_batch(session: Session, requests: list[ReserveRequest]) -> int:
    """Insert a batch of drained reservations in a few statements; returns how many
    were new. One multi-row insert-or-nothing says which are new (RETURNING); only
    those move the tallies (one executemany) and each item's stock (one UPDATE)."""
    unique = list({request.public_id: request for request in requests}.values())
    now = clock.now()
    statement = (
        dialect_insert(session, FlashSaleReservation)
        .values(
            [
                {
                    "public_id": request.public_id,
                    "campaign_id": request.campaign_id,
                    "session_id": request.session_id,
                    "item_id": request.item_id,
                    "customer_id": request.customer_id,
                    "quantity": request.quantity,
                    "unit_price": request.unit_price,
                    "engine": request.engine,
                    "status": ReservationStatus.RESERVED.value,
                    "fulfilment": request.fulfilment,
                    "pickup_store_id": request.pickup_store_id,
                    "address_encrypted": request.address_encrypted,
                    "touchpoint": request.touchpoint,
                    "created_at": datetime.fromisoformat(request.reserved_at),
                    "updated_at": now,
                }
                for request in unique
            ]
        )
        .on_conflict_do_nothing(index_elements=["public_id"])
        .returning(FlashSaleReservation.public_id)
    )
    connection = session.connection()
    new = set(connection.execute(statement).scalars())
    tallies: Counter[tuple[int, int]] = Counter()
    items: Counter[int] = Counter()
    for request in unique:
        if request.public_id in new:
            tallies[(request.item_id, request.customer_id)] += request.quantity
            items[request.item_id] += request.quantity
    if not new:
        return 0
    sql = driver_sql.statements_for(connection.dialect)
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(
            sql.tally_add,
            [
                (item_id, customer_id, quantity)
                for (item_id, customer_id), quantity in tallies.items()
            ],
        )
        for item_id, quantity in items.items():
            # Redis already checked the stock; the database follows what was drained.
            if not driver_sql.take_stock(cursor, sql, item_id, quantity):
                raise RuntimeError(f"database stock of item {item_id} is behind Redis")
    finally:
        cursor.close()
    return len(new)


def _write_one_by_one(
    factory: sessionmaker[Session], requests: list[ReserveRequest]
) -> tuple[int, list[ReserveRequest]]:
    """The slow path when a batch fails: each entry alone; the refused come back."""
    written, refused = 0, []
    with transaction(factory) as session:
        for request in requests:
            try:
                with session.begin_nested():
                    written += write_drained_batch(session, [request])
            except Exception:
                # A reservation the database refuses (its customer erased): its unit
                # goes back to Redis, never stranded.
                logger.exception("flash sale: reservation %s refused", request.public_id)
                refused.append(request)
    return written, refused


def drain(
    factory: sessionmaker[Session],
    stock: RedisStock,
    *,
    batch: int = 500,
    max_batches: int | None = None,
) -> int:
    """Write queued reservations to the database; returns how many were new."""
    written = 0
    # Entries a crashed drain left behind come first (a lock keeps drains single).
    if not stock.client.set(stock.keys.drain_lock, "1", nx=True, px=30_000):
        return 0
    try:
        pending = stock.processing()
        batches = 0
        while max_batches is None or batches < max_batches:
            entries = pending or stock.move_batch(batch)
            pending = []
            if not entries:
                break
            batches += 1
            requests = [ReserveRequest.from_json(entry) for entry in entries]
            refused: list[ReserveRequest] = []
            try:
                with transaction(factory) as session:
                    written += write_drained_batch(session, requests)
            except Exception:
                logger.exception("flash sale: a drained batch failed; writing one by one")
                alone, refused = _write_one_by_one(factory, requests)
                written += alone
            for request in refused:
                stock.give_back(
                    request.item_id, request.public_id, request.customer_id, request.quantity
                )
            stock.done(entries)
    finally:
        stock.client.delete(stock.keys.drain_lock)
    return written


def on_placed(
    session: Session, order: Order, _lines: list[OrderLine], option: pricing.CampaignOption
) -> None:
    """In the order's transaction: the reservation becomes ``ordered``. Conditional on
    still being ``reserved``, so two writers racing on one reservation write one order."""
    result = session.execute(
        update(FlashSaleReservation)
        .where(
            FlashSaleReservation.id == option.reference_id,
            FlashSaleReservation.status == ReservationStatus.RESERVED.value,
        )
        .values(status=ReservationStatus.ORDERED.value, order_id=order.id, updated_at=clock.now())
    )
    if rowcount(result) != 1:
        raise pricing.InvalidCampaignOrder(data={"reservation_id": option.reference_id})


def _checkout_for(
    cipher: PiiCipher, row: FlashSaleReservation, sku_id: int
) -> checkout.CheckoutInput:
    return checkout.CheckoutInput(
        items=[checkout.ItemInput(sku_id=sku_id, quantity=row.quantity)],
        fulfilment=Fulfilment(row.fulfilment),
        pickup_store_id=row.pickup_store_id,
        address=decrypt_address(cipher, row.address_encrypted),
        options={
            pricing.OPTION: pricing.CampaignOption(
                kind=CampaignKind.FLASH_SALE,
                campaign_id=row.campaign_id,
                reference_id=row.id,
                unit_prices={sku_id: row.unit_price},
            )
        },
        attribution=checkout.Attribution(touchpoint=row.touchpoint, campaign_id=row.campaign_id),
    )


def _skus_of(session: Session, item_ids: Iterable[int]) -> dict[int, int]:
    rows = session.execute(
        select(FlashSaleItem.id, FlashSaleItem.sku_id).where(FlashSaleItem.id.in_(set(item_ids)))
    )
    return {item_id: sku_id for item_id, sku_id in rows}


def give_back(session: Session, row: FlashSaleReservation) -> None:
    """Units of a reservation that will not be sold go back (database now, Redis by job)."""
    engines.give_back_in_database(session, row.item_id, row.customer_id, row.quantity)
    if row.engine == StockEngine.REDIS:
        jobs.enqueue(
            session,
            RETURN_TASK,
            {"reservation_id": row.id},
            idempotency_key=f"{RETURN_TASK}:{row.id}",
        )


def place_orders(
    session: Session, cipher: PiiCipher, settings: Settings, *, limit: int = 200
) -> tuple[int, int]:
    """Write orders for up to ``limit`` reserved reservations in the caller's
    transaction; returns (ordered, failed)."""
    statement = (
        select(FlashSaleReservation)
        .where(FlashSaleReservation.status == ReservationStatus.RESERVED.value)
        .order_by(FlashSaleReservation.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        # Parallel workers each take their own reservations.
        statement = statement.with_for_update(skip_locked=True)
    rows = list(session.scalars(statement))
    skus = _skus_of(session, [row.item_id for row in rows])
    ordered = failed = 0
    for row in rows:
        try:
            with session.begin_nested():
                checkout.place_order(
                    session,
                    cipher,
                    row.customer_id,
                    _checkout_for(cipher, row, skus[row.item_id]),
                    settings,
                    actor=ORDER_ACTOR,
                )
            ordered += 1
        except SiyuError as error:
            session.refresh(row)
            if row.status != ReservationStatus.RESERVED:
                continue
            row.status = ReservationStatus.FAILED.value
            row.failure_code = error.code[:64]
            row.updated_at = clock.now()
            give_back(session, row)
            session.flush()
            failed += 1
    return ordered, failed


def release(session: Session, order_id: int, *, to: ReservationStatus) -> int:
    """The reservations of ``order_id`` still holding units move to ``to``
    (released, or paid); released ones give their units back. Idempotent: the
    conditional UPDATE only matches reservations in ``ordered``."""
    rows = list(
        session.scalars(
            select(FlashSaleReservation).where(
                FlashSaleReservation.order_id == order_id,
                FlashSaleReservation.status == ReservationStatus.ORDERED.value,
            )
        )
    )
    moved = 0
    for row in rows:
        result = session.execute(
            update(FlashSaleReservation)
            .where(
                FlashSaleReservation.id == row.id,
                FlashSaleReservation.status == ReservationStatus.ORDERED.value,
            )
            .values(status=to.value, updated_at=clock.now())
        )
        if rowcount(result) != 1:
            continue
        moved += 1
        if to == ReservationStatus.RELEASED:
            give_back(session, row)
    return moved


def return_units(session: Session, stock: RedisStock, reservation_id: int) -> int:
    row = session.get(FlashSaleReservation, reservation_id)
    if row is None or row.status not in (
        ReservationStatus.RELEASED.value,
        ReservationStatus.FAILED.value,
    ):
        return 0
    return stock.give_back(row.item_id, row.public_id, row.customer_id, row.quantity)
