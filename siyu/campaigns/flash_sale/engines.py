"""The two stock engines behind one interface: take a unit for a buyer, or refuse.

Both engines take a :class:`ReserveRequest` and either keep it (a reservation that
holds ``quantity`` units) or raise ``flash_sale.limit_reached`` /
``flash_sale.sold_out`` having changed nothing.

* **Database** (:func:`reserve_in_database`): in the caller's transaction, a
  conditional upsert on the buyer's tally (``quantity + :n <= limit``), then one
  conditional UPDATE on the item (``stock_left >= :n``), then the reservation row.
  Racing buyers on the last unit all run the same UPDATE; the database lets exactly
  the ones that fit through — no read-then-write anywhere. Tally before stock: a
  buyer over the limit never touches (or locks) the hot stock row, and every
  transaction locks in the same order (tally, item), so none deadlock.
* **Redis** (:class:`RedisStock`): one Lua script checks the buyer's count and the
  stock, takes the unit and queues the reservation in one atomic step. Nothing
  touches the database in the request; the drain (``orders.drain``) writes queued
  reservations in batches, idempotently by the reservation's public id.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

import redis
import redis.asyncio as redis_async
from sqlalchemy import update
from sqlalchemy.orm import Session

from siyu.campaigns.flash_sale import driver_sql
from siyu.campaigns.flash_sale.errors import LimitReached, SoldOut
from siyu.models.flash_sale import (
    FlashSaleItem,
    FlashSaleTally,
    StockEngine,
)


@dataclass(frozen=True)
class ReserveRequest:
    public_id: str
    campaign_id: int
    session_id: int
    item_id: int
    customer_id: int
    quantity: int
    unit_price: int
    per_customer_limit: int
    engine: str
    fulfilment: str = "delivery"
    pickup_store_id: int | None = None
    # Ciphertext from the app's PiiCipher: the queue never holds a readable address.
    address_encrypted: str | None = None
    touchpoint: str | None = None
    reserved_at: str = ""

    def to_json(self) -> str:
        # The instance's own field dict: asdict's deep copy cost more than the dump.
        return json.dumps(self.__dict__, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str | bytes) -> ReserveRequest:
        return cls(**json.loads(raw))


def _refusal(request: ReserveRequest, error: type[LimitReached] | type[SoldOut]) -> Exception:
    return error(data={"item_id": request.item_id, "quantity": request.quantity})


def reserve_on_cursor(cursor: Any, sql: driver_sql.Statements, request: ReserveRequest) -> None:
    """The database engine on a DBAPI cursor inside the caller's transaction (see
    ``driver_sql``). On refusal the caller rolls back to its savepoint."""
    if not driver_sql.take_tally(
        cursor,
        sql,
        request.item_id,
        request.customer_id,
        request.quantity,
        request.per_customer_limit,
    ):
        raise _refusal(request, LimitReached)
    if not driver_sql.take_stock(cursor, sql, request.item_id, request.quantity):
        raise _refusal(request, SoldOut)
    driver_sql.insert_reservation(cursor, sql, asdict(request))


def reserve_in_database(session: Session, request: ReserveRequest) -> None:
    """The database engine, in the caller's transaction. On refusal the caller rolls
    back (a savepoint per request in the group commit), so nothing is left behind."""
    connection = session.connection()
    cursor = connection.connection.cursor()
    try:
        reserve_on_cursor(cursor, driver_sql.statements_for(connection.dialect), request)
    finally:
        cursor.close()


def give_back_in_database(session: Session, item_id: int, customer_id: int, quantity: int) -> None:
    """A released or failed reservation's units return to the item and the tally
    (the buyer may try again). Same lock order as a reservation: tally, then item."""
    session.execute(
        update(FlashSaleTally)
        .where(FlashSaleTally.item_id == item_id, FlashSaleTally.customer_id == customer_id)
        .values(quantity=FlashSaleTally.quantity - quantity)
    )
    session.execute(
        update(FlashSaleItem)
        .where(FlashSaleItem.id == item_id)
        .values(stock_left=FlashSaleItem.stock_left + quantity)
    )


# KEYS: stock, buyers, queue[, in-flight lock]. ARGV: customer id, quantity, limit,
# queued entry. Returns the stock left, or -1 over the limit, -2 sold out, -3 not
# loaded yet. The buyer's in-flight lock (taken by the route) is released here, on
# every outcome, so the request needs no further round trip.
RESERVE_SCRIPT = """
local function reserve()
  local stock = redis.call('GET', KEYS[1])
  if not stock then return -3 end
  local quantity = tonumber(ARGV[2])
  local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
  if held + quantity > tonumber(ARGV[3]) then return -1 end
  stock = tonumber(stock)
  if stock < quantity then return -2 end
  redis.call('DECRBY', KEYS[1], quantity)
  redis.call('HINCRBY', KEYS[2], ARGV[1], quantity)
  redis.call('LPUSH', KEYS[3], ARGV[4])
  return stock - quantity
end
local result = reserve()
if KEYS[4] then redis.call('DEL', KEYS[4]) end
return result
"""

# Abuse control in one step. KEYS: one or two rate-window keys, then the buyer's
# in-flight lock. ARGV: window ms, a limit per window key, the lock's ttl ms. Each
# window is siyu.core.ratelimit's INCR + PEXPIRE on first hit (a crash between the
# two can never leave a key without expiry); then SET NX PX takes the lock, released
# by the reserve script. Returns {0, 0}, {GATE_RATE_LIMITED, ttl ms} or
# {GATE_IN_FLIGHT, 0}.
GATE_SCRIPT = """
local windows = #KEYS - 1
for i = 1, windows do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[1]) end
  if count > tonumber(ARGV[i + 1]) then return {1, redis.call('PTTL', KEYS[i])} end
end
if not redis.call('SET', KEYS[#KEYS], '1', 'NX', 'PX', ARGV[windows + 2]) then return {2, 0} end
return {0, 0}
"""
GATE_RATE_LIMITED = 1
GATE_IN_FLIGHT = 2

# The reserve fast path's one round trip: GATE_SCRIPT and RESERVE_SCRIPT in one atomic
# step. KEYS: stock, buyers, queue, the buyer's in-flight lock, then one or two
# rate-window keys. ARGV: customer id, quantity, limit, queued entry, window ms, then
# a limit per window key. Returns {result, ttl ms}: the stock left, or -1 over the
# limit, -2 sold out, -3 not loaded yet (checked first: nothing counted, so the
# caller loads and runs it again), GATED_RATE_LIMITED with the window's ttl,
# GATED_IN_FLIGHT. Nothing runs between the gate and the reserve, so no lock needs
# taking; the lock is still honoured (another process on the two-step path, or an
# operator, may hold it).
GATED_RESERVE_SCRIPT = """
local stock = redis.call('GET', KEYS[1])
if not stock then return {-3, 0} end
for i = 5, #KEYS do
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
  if count > tonumber(ARGV[i + 1]) then return {-4, redis.call('PTTL', KEYS[i])} end
end
if redis.call('EXISTS', KEYS[4]) == 1 then return {-5, 0} end
local quantity = tonumber(ARGV[2])
local held = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if held + quantity > tonumber(ARGV[3]) then return {-1, 0} end
stock = tonumber(stock)
if stock < quantity then return {-2, 0} end
redis.call('DECRBY', KEYS[1], quantity)
redis.call('HINCRBY', KEYS[2], ARGV[1], quantity)
redis.call('LPUSH', KEYS[3], ARGV[4])
return {stock - quantity, 0}
"""
GATED_RATE_LIMITED = -4
GATED_IN_FLIGHT = -5

# KEYS: stock, buyers. ARGV: stock, then customer id / quantity pairs. Only the first
# loader wins (SETNX), so racing first buyers load the same figures once.
LOAD_SCRIPT = """
if redis.call('SETNX', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS: stock, buyers, returned. ARGV: reservation id, customer id, quantity.
# Idempotent by reservation id (the returned set): a retried job never adds twice.
RETURN_SCRIPT = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
redis.call('INCRBY', KEYS[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[2], -tonumber(ARGV[3]))
return 1
"""

# KEYS: queue, processing. ARGV: batch size. Moves entries atomically so a crash
# leaves each either queued or in the processing list, never nowhere.
MOVE_SCRIPT = """
local moved = {}
for i = 1, tonumber(ARGV[1]) do
  local entry = redis.call('RPOPLPUSH', KEYS[1], KEYS[2])
  if not entry then break end
  moved[#moved + 1] = entry
end
return moved
"""

NOT_LOADED = -3
DEFAULT_PREFIX = "siyu:fs:"


class Keys:
    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.prefix = prefix
        self.queue = prefix + "queue"
        self.processing = prefix + "processing"
        self.drain_lock = prefix + "drain-lock"

    def stock(self, item_id: int) -> str:
        return f"{self.prefix}{item_id}:stock"

    def buyers(self, item_id: int) -> str:
        return f"{self.prefix}{item_id}:buyers"

    def returned(self, item_id: int) -> str:
        return f"{self.prefix}{item_id}:returned"

    def in_flight(self, customer_id: int) -> str:
        return f"{self.prefix}in-flight:{customer_id}"


def _outcome(request: ReserveRequest, result: int) -> bool:
    """True when reserved, False when the item's counters are not loaded yet."""
    if result == NOT_LOADED:
        return False
    if result == -1:
        raise _refusal(request, LimitReached)
    if result == -2:
        raise _refusal(request, SoldOut)
    return True


class RedisStock:
    """The Redis engine, with a blocking client (jobs, tests, CLI) and optionally an
    asyncio client (the reserve route: EVALSHA without a thread hop)."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        async_client: redis_async.Redis | None = None,
        prefix: str = DEFAULT_PREFIX,
    ) -> None:
        self.client = client
        self.async_client = async_client
        self.keys = Keys(prefix)
        self._reserve = client.register_script(RESERVE_SCRIPT)
        self._load = client.register_script(LOAD_SCRIPT)
        self._return = client.register_script(RETURN_SCRIPT)
        self._move = client.register_script(MOVE_SCRIPT)
        self._reserve_async = async_client.register_script(RESERVE_SCRIPT) if async_client else None

    def _reserve_args(
        self, request: ReserveRequest, *, release_lock: bool = False
    ) -> tuple[list[str], list[Any]]:
        keys = [
            self.keys.stock(request.item_id),
            self.keys.buyers(request.item_id),
            self.keys.queue,
        ]
        if release_lock:
            keys.append(self.keys.in_flight(request.customer_id))
        args = [
            request.customer_id,
            request.quantity,
            request.per_customer_limit,
            request.to_json(),
        ]
        return keys, args

    def reserve(self, request: ReserveRequest) -> bool:
        keys, args = self._reserve_args(request)
        return _outcome(request, int(self._reserve(keys=keys, args=args)))

    async def reserve_async(self, request: ReserveRequest, *, release_lock: bool = False) -> bool:
        """With ``release_lock`` the script also frees the buyer's in-flight lock."""
        assert self._reserve_async is not None
        keys, args = self._reserve_args(request, release_lock=release_lock)
        return _outcome(request, int(await self._reserve_async(keys=keys, args=args)))

    def load(self, item_id: int, stock_left: int, tallies: dict[int, int]) -> bool:
        args: list[Any] = [stock_left]
        for customer_id, quantity in tallies.items():
            args += [customer_id, quantity]
        keys = [self.keys.stock(item_id), self.keys.buyers(item_id)]
        return int(self._load(keys=keys, args=args)) == 1

    def give_back(self, item_id: int, reservation_id: str, customer_id: int, quantity: int) -> int:
        keys = [self.keys.stock(item_id), self.keys.buyers(item_id), self.keys.returned(item_id)]
        return int(self._return(keys=keys, args=[reservation_id, customer_id, quantity]))

    def was_returned(self, item_id: int, reservation_ids: list[str]) -> list[bool]:
        if not reservation_ids:
            return []
        flags = self.client.smismember(self.keys.returned(item_id), reservation_ids)
        return [bool(flag) for flag in flags]

    def stock_of(self, item_id: int) -> int | None:
        value = self.client.get(self.keys.stock(item_id))
        return None if value is None else int(value)

    def move_batch(self, size: int) -> list[bytes]:
        moved = self._move(keys=[self.keys.queue, self.keys.processing], args=[size])
        return list(moved)

    def processing(self) -> list[bytes]:
        return list(self.client.lrange(self.keys.processing, 0, -1))  # type: ignore[arg-type]

    def queued(self) -> list[bytes]:
        return list(self.client.lrange(self.keys.queue, 0, -1))  # type: ignore[arg-type]

    def done(self, entries: list[bytes]) -> None:
        pipeline = self.client.pipeline(transaction=False)
        for entry in entries:
            pipeline.lrem(self.keys.processing, 1, entry)  # type: ignore[arg-type]
        pipeline.execute()


def engine_of(value: str | None) -> StockEngine:
    return StockEngine(value) if value else StockEngine.DATABASE
