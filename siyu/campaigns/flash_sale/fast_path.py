"""The reserve click as a plain ASGI route, in front of FastAPI.

``POST /api/shop/v1/campaigns/flash-sale/reservations`` is the one path a flash sale
hammers. Through FastAPI each request paid for routing, the dependency machinery,
pydantic in and out and the exception middleware (an empty FastAPI route tops out
near /healthz's ~2,900/s on this machine); here it costs a dict lookup on the path.

The middleware handles that method and path itself when it can be sure of the
answer, and passes everything else on untouched:

* the body must be small, declared (``Content-Length``), JSON, and exactly what
  ``ReserveIn`` takes without coercion (``reserving.parse_body``); otherwise the
  request goes to the FastAPI route with its body replayed, so a 422 is pydantic's
  own;
* then ``reserving.reserve`` — the very code the FastAPI route runs — and the
  answer: 202 as prebuilt bytes, a refusal as the app's problem+json (with
  ``Retry-After`` where the route gives it).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siyu.campaigns.flash_sale import reserving
from siyu.campaigns.flash_sale.runtime import freeze_heap, runtime_for
from siyu.core.asgi_routes import declares_small_json, read_body, send_json, send_problem
from siyu.core.errors import SiyuError
from siyu.customers.sessions import token_from_asgi_headers

PATH = "/api/shop/v1/campaigns/flash-sale/reservations"
# A click is ~200 bytes; anything bigger is unusual enough to take the slow way
# (which also applies the app's body size limit).
MAX_BODY = 4096


class ReserveFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            if scope["type"] == "lifespan":
                send = _freezing_after_startup(send)
            await self.app(scope, receive, send)
            return
        runtime = runtime_for(scope["app"])
        limit = min(MAX_BODY, runtime.settings.max_request_bytes)
        if not runtime.fast_path or not declares_small_json(scope, limit):
            await self.app(scope, receive, send)
            return
        raw, receive = await read_body(receive, MAX_BODY)
        body = reserving.parse_body(raw) if raw is not None else None
        if body is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        try:
            reservation = await reserving.reserve(
                runtime,
                token_from_asgi_headers(scope["headers"]),
                client[0] if client else None,
                body,
            )
        except SiyuError as error:
            await send_problem(error, scope, receive, send)
            return
        await send_json(send, 202, reserving.accepted_body(reservation, body.item_id))


def _freezing_after_startup(send: Send) -> Send:
    """Freeze the heap (``runtime.freeze_heap``) once the app has started, before
    the first request rather than during the first sale."""

    async def freezing(message: Message) -> None:
        if message["type"] == "lifespan.startup.complete":
            freeze_heap()
        await send(message)

    return freezing
