"""The plain ASGI reserve route (``fast_path``) answers exactly as the FastAPI route:
the same statuses, codes, problem bodies and headers, on both engines; well-formed
clicks never reach FastAPI, everything unusual does. Plus the hand check of the
body against ``ReserveIn``, and the one-script Redis gate under a crowd."""

from __future__ import annotations

import asyncio
import gc
import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from siyu.app import create_app
from siyu.campaigns.flash_sale import audit, orders, reserving, shop_api
from siyu.campaigns.flash_sale.engines import RedisStock
from siyu.campaigns.flash_sale.errors import LimitReached, SoldOut
from siyu.campaigns.flash_sale.runtime import FlashSaleRuntime, runtime_for
from siyu.campaigns.flash_sale.schemas import ReserveIn
from siyu.core.db import transaction
from siyu.core.errors import SiyuError
from siyu.core.settings import Settings
from siyu.customers import sessions
from siyu.models.flash_sale import FlashSaleSession
from tests.campaigns.flash_sale.factories import ADDRESS, Sale, make_sale, tally
from tests.customers.factories import make_cipher, make_customer

URL = "/api/shop/v1/campaigns/flash-sale/reservations"


@pytest.fixture(params=["database", "redis"])
def app_client(
    request: pytest.FixtureRequest, settings: Settings, session_factory: sessionmaker[Session]
) -> Iterator[tuple[str, TestClient]]:
    engine = str(request.param)
    if engine == "redis":
        settings = settings.model_copy(update={"redis_url": request.getfixturevalue("redis_url")})
    app = create_app(settings, start_worker=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield engine, client
        runtime = getattr(app.state, "flash_sale", None)
        if runtime is not None:
            runtime.stop()


def _buyer(factory: sessionmaker[Session]) -> tuple[int, str]:
    with transaction(factory) as session:
        customer = make_customer(session, make_cipher())
        raw, _ = sessions.create_session(session, customer_id=customer.id, touchpoint="mp")
        return customer.id, raw


def _sale(factory: sessionmaker[Session], **options: Any) -> Sale:
    with transaction(factory) as session:
        return make_sale(session, **options)


def _normalised(value: Any, names: dict[Any, str], key: str = "") -> Any:
    """Ids and times differ between two runs on fresh rows: name them."""
    if isinstance(value, dict):
        return {name: _normalised(item, names, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_normalised(item, names, key) for item in value]
    if key in {"starts_at", "ends_at"}:
        return "<time>"
    if isinstance(value, str) and value.startswith("fsr_"):
        return "<reservation>"
    if isinstance(value, str) or (key == "item_id" and type(value) is int):
        return names.get(value, value)
    return value


def _scenario(
    client: TestClient, engine: str, factory: sessionmaker[Session], redis_url: str | None
) -> list[tuple[Any, ...]]:
    """Every kind of answer the route gives, on fresh sales and buyers."""
    sale = _sale(factory, stock=2, limit=1, engine=engine)
    late = _sale(factory, stock=2, starts_in=timedelta(minutes=10), engine=engine)
    limited = _sale(factory, stock=10, limit=10, engine=engine, customer_rate_limit=2)
    first_id, first = _buyer(factory)
    second_id, second = _buyer(factory)
    _third_id, third = _buyer(factory)
    names: dict[Any, str] = {}
    for label, row in (("sale", sale), ("late", late), ("limited", limited)):
        names |= {
            row.item.public_id: f"<{label} item>",
            row.item.id: f"<{label} item id>",
            row.session.public_id: f"<{label} session>",
            row.campaign.public_id: f"<{label} campaign>",
        }

    def post(token: str | None, body: Any = None, *, bearer: bool = False, **options: Any) -> Any:
        headers = {}
        if token is not None:
            headers = (
                {"Authorization": f"Bearer {token}"} if bearer else {sessions.TOKEN_HEADER: token}
            )
        kind = options.pop("content_type", "application/json")
        if body is None:
            body = {"item_id": sale.item.public_id, "address": dict(ADDRESS)}
        if isinstance(body, dict):
            body = body | options
        content = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
        return client.post(URL, content=content, headers=headers | {"Content-Type": kind})

    item = sale.item.public_id
    responses = [
        post(None),
        post("sct_nobody"),
        post(first, {"item_id": "fsi_nope", "address": ADDRESS}),
        post(first, address=None),
        post(first, quantity=2),
        post(first, {"item_id": item, "fulfilment": "pickup"}),
        post(first, {"item_id": late.item.public_id, "address": ADDRESS}),
        # Not what ReserveIn takes as it is: the FastAPI route answers these.
        post(first, quantity="2"),
        post(first, surprise=True),
        post(first, address=ADDRESS | {"phone": "12345678901"}),
        post(first, "{not json"),
        post(first, "[]"),
        post(first, {"item_id": item}, content_type="text/plain"),
        # Taken, over the limit, by a bearer token, sold out.
        post(first, address=ADDRESS | {"phone": "+86 138-1234-5678"}),
        post(first),
        post(second, bearer=True),
        post(third),
    ]
    if redis_url is not None:
        client_redis = redis.Redis.from_url(redis_url)
        client_redis.set(f"siyu:fs:in-flight:{second_id}", "1", px=5000)
        responses.append(post(second, {"item_id": limited.item.public_id, "address": ADDRESS}))
        client_redis.delete(f"siyu:fs:in-flight:{second_id}")
        client_redis.close()
    responses += [
        post(third, {"item_id": limited.item.public_id, "address": ADDRESS}) for _ in range(3)
    ]
    runtime_for(client.app).process_pending()  # Redis: drain into the database
    with transaction(factory) as session:
        assert tally(session, sale.item.id, first_id) == 1
    return [
        (
            response.status_code,
            response.headers["content-type"],
            response.headers.get("retry-after"),
            sorted(response.headers.keys()),
            _normalised(response.json(), names),
        )
        for response in responses
    ]


def test_the_fast_path_answers_as_the_fastapi_route(
    app_client: tuple[str, TestClient],
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, client = app_client
    assert gc.get_freeze_count() > 0  # frozen when the app started (its lifespan)
    redis_url = client.app.state.settings.redis_url  # type: ignore[attr-defined]
    routed: list[str] = []
    original: Callable[[Any], FlashSaleRuntime] = shop_api.runtime_for

    def counting(app: Any) -> FlashSaleRuntime:
        routed.append("route")
        return original(app)

    monkeypatch.setattr(shop_api, "runtime_for", counting)
    runtime = runtime_for(client.app)
    runtime.fast_path = False
    slow = _scenario(client, engine, session_factory, redis_url)
    # Every request but the five pydantic refuses before the route runs.
    assert len(routed) == len(slow) - 5
    routed.clear()
    runtime.fast_path = True
    fast = _scenario(client, engine, session_factory, redis_url)
    # Of the well-formed, only the one pydantic coerces ("2") reached the route.
    assert len(routed) == 1
    assert fast == slow
    statuses = [(status, body.get("code")) for status, _kind, _retry, _keys, body in fast]
    assert statuses[:7] == [
        (401, "customer.session_invalid"),
        (401, "customer.session_invalid"),
        (404, "flash_sale.item_not_found"),
        (422, "flash_sale.invalid_reservation"),
        (422, "flash_sale.invalid_reservation"),
        (422, "flash_sale.invalid_reservation"),
        (409, "campaign.not_started"),
    ]
    assert [status for status, *_rest in fast[7:13]] == [422] * 6
    assert statuses[13:17] == [
        (202, None),
        (409, "flash_sale.limit_reached"),
        (202, None),
        (409, "flash_sale.sold_out"),
    ]
    if engine == "redis":
        assert statuses[17] == (429, "flash_sale.request_in_flight")
        assert fast[17][2] == "1"
    # Two requests per window and customer: the third buyer's sold-out click counted.
    assert [status for status, *_rest in fast[-3:]] == [202, 429, 429]
    assert fast[-1][4]["code"] == "flash_sale.rate_limited"
    assert 1 <= int(fast[-1][2]) <= 10
    assert fast[13][4] == {
        "public_id": "<reservation>",
        "status": "reserved",
        "item_id": "<sale item>",
        "quantity": 1,
        "unit_price": 990,
        "order_public_id": None,
        "failure_code": None,
        "created_at": None,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"item_id": "fsi_1"},
        {"item_id": "fsi_1", "quantity": 3, "fulfilment": "pickup", "pickup_store_id": 7},
        {"item_id": "fsi_1", "address": ADDRESS | {"phone": "+86 138 1234-5678", "x": 1}},
        {"item_id": "fsi_1", "address": ADDRESS | {"recipient": "张" * 32}},
        {"item_id": "x" * 40, "quantity": 100, "address": None, "pickup_store_id": None},
        {"item_id": "", "address": ADDRESS},
        {"item_id": "x" * 41},
        {"item_id": "fsi_1", "quantity": 0},
        {"item_id": "fsi_1", "quantity": 101},
        {"item_id": "fsi_1", "quantity": 2.0},
        {"item_id": "fsi_1", "quantity": True},
        {"item_id": "fsi_1", "fulfilment": "drone"},
        {"item_id": "fsi_1", "pickup_store_id": 0},
        {"item_id": "fsi_1", "pickup_store_id": 2**63},
        {"item_id": "fsi_1", "address": ADDRESS | {"recipient": "张" * 33}},
        {"item_id": "fsi_1", "address": ADDRESS | {"phone": "1381234567"}},
        {"item_id": "fsi_1", "address": ADDRESS | {"region": "上"}},
        {"item_id": "fsi_1", "address": {"recipient": "张三"}},
        {"item_id": "fsi_1", "address": "somewhere"},
        {"item_id": 12},
        {"item_id": "fsi_1", "extra": 1},
    ],
)
def test_the_hand_check_takes_only_what_reserve_in_takes_as_it_is(body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    parsed = reserving.parse_body(raw)
    try:
        model = ReserveIn.model_validate_json(raw)
    except ValidationError:
        assert parsed is None
        return
    if parsed is None:
        # Valid only through pydantic's coercions: the FastAPI route's business.
        assert body.get("quantity") in (2.0, True)
        return
    assert parsed == reserving.ReserveBody(
        item_id=model.item_id,
        quantity=model.quantity,
        fulfilment=model.fulfilment.value,
        pickup_store_id=model.pickup_store_id,
        address=model.address.model_dump() if model.address else None,
    )


@pytest.mark.parametrize("client_kind", ["pipelined", "redis-py"])
def test_one_script_never_oversells_under_a_crowd(
    settings: Settings, session_factory: sessionmaker[Session], redis_url: str, client_kind: str
) -> None:
    """150 buyers click twice each, all at once, for 100 units (limit 1 each), on the
    pipelined client and on redis-py's (what a ``rediss://`` URL uses)."""
    sale = _sale(session_factory, stock=100, limit=1, engine="redis")
    buyers = [_buyer(session_factory) for _ in range(150)]
    client = redis.Redis.from_url(redis_url)
    runtime = FlashSaleRuntime(
        session_factory,
        settings.model_copy(update={"redis_url": redis_url}),
        make_cipher(),
        client,
    )
    assert runtime.pipe is not None
    if client_kind == "redis-py":
        runtime.pipe = None
    body = reserving.ReserveBody(item_id=sale.item.public_id, address=dict(ADDRESS))

    async def crowd() -> list[str]:
        async def click(token: str) -> str:
            try:
                await reserving.reserve(runtime, token, "10.0.0.1", body)
            except SiyuError as error:
                return error.code
            return "reserved"

        return await asyncio.gather(*(click(token) for _id, token in buyers * 2))

    outcomes = asyncio.run(crowd())
    runtime.stop()
    assert outcomes.count("reserved") == 100
    assert outcomes.count(SoldOut.code) + outcomes.count(LimitReached.code) == 200
    stock = RedisStock(client)
    assert stock.stock_of(sale.item.id) == 0
    assert len(stock.queued()) == 100
    while orders.drain(session_factory, stock):
        pass
    with transaction(session_factory) as session:
        assert sum(tally(session, sale.item.id, customer) for customer, _ in buyers) == 100
        assert max(tally(session, sale.item.id, customer) for customer, _ in buyers) == 1
        row = session.get(FlashSaleSession, sale.session.id)
        assert row is not None
        assert audit.check(session, row, stock).balanced
    client.close()


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_the_pipelined_client_loads_scripts_reconnects_and_reports_a_dead_redis(
    redis_url: str, loop: str
) -> None:
    import uuid

    from siyu.campaigns.flash_sale.redis_pipe import PipelinedRedis, script_sha

    script = f"-- {uuid.uuid4()}\nreturn {{redis.call('INCR', KEYS[1]), ARGV[1]}}"
    pipe = PipelinedRedis(redis_url)

    async def run() -> list[Any]:
        # Unknown to Redis at first: EVALSHA says NOSCRIPT, EVAL runs (and caches) it.
        first = await pipe.evalsha(script, script_sha(script), ["fp:counter"], ["a"])
        assert pipe._protocol is not None
        assert pipe._protocol.transport is not None
        pipe._protocol.transport.close()
        await asyncio.sleep(0)
        # Concurrent calls share one new connection, answered in order.
        rest = await asyncio.gather(
            *(pipe.evalsha(script, script_sha(script), ["fp:counter"], [n]) for n in range(5))
        )
        pipe.close()
        return [first, *rest]

    factory = asyncio.new_event_loop
    if loop == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        first, *rest = runner.run(run())
    assert first == [1, b"a"]
    assert sorted(count for count, _arg in rest) == [2, 3, 4, 5, 6]
    assert sorted(arg for _count, arg in rest) == [b"0", b"1", b"2", b"3", b"4"]
    client = redis.Redis.from_url(redis_url)  # the URL's database, not db 0
    assert client.get("fp:counter") == b"6"
    client.close()

    dead = PipelinedRedis("redis://127.0.0.1:1/0")
    with (
        pytest.raises(redis.exceptions.ConnectionError),
        asyncio.Runner(loop_factory=factory) as runner,
    ):
        runner.run(dead.execute("PING"))
