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

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siyu.campaigns.flash_sale import reserving
from siyu.campaigns.flash_sale.runtime import freeze_heap, runtime_for
from siyu.core.errors import SiyuError
from siyu.core.problems import problem_response
from siyu.customers.sessions import TOKEN_HEADER, TOKEN_PREFIX

PATH = "/api/shop/v1/campaigns/flash-sale/reservations"
# A click is ~200 bytes; anything bigger is unusual enough to take the slow way
# (which also applies the app's body size limit).
MAX_BODY = 4096
_TOKEN = TOKEN_HEADER.lower().encode()
_ACCEPTED_HEADERS = [(b"content-type", b"application/json")]


def _is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    main = content_type.split(b";", 1)[0].strip().lower()
    return main == b"application/json"


def token_of(headers: list[tuple[bytes, bytes]]) -> str | None:
    """``siyu.customers.sessions.token_from_headers`` on raw ASGI headers."""
    token = authorization = None
    for name, value in headers:
        if name == _TOKEN:
            if token is None:
                token = value
        elif name == b"authorization" and authorization is None:
            authorization = value
    if token:
        return token.decode("latin-1").strip()
    scheme, _, credentials = (authorization or b"").decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and credentials.strip().startswith(TOKEN_PREFIX + "_"):
        return credentials.strip()
    return None


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
        if not runtime.fast_path:
            await self.app(scope, receive, send)
            return
        length = content_type = None
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        for name, value in headers:
            if name == b"content-length":
                length = value
            elif name == b"content-type":
                content_type = value
        if (
            length is None
            or not length.isdigit()
            or not 0 < int(length) <= min(MAX_BODY, runtime.settings.max_request_bytes)
            or not _is_json(content_type)
        ):
            await self.app(scope, receive, send)
            return
        raw, receive = await _read_body(receive)
        body = reserving.parse_body(raw) if raw is not None else None
        if body is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        try:
            reservation = await reserving.reserve(
                runtime, token_of(headers), client[0] if client else None, body
            )
        except SiyuError as error:
            await _problem(error, scope, receive, send)
            return
        payload = reserving.accepted_body(reservation, body.item_id)
        await send(
            {
                "type": "http.response.start",
                "status": 202,
                "headers": [(b"content-length", b"%d" % len(payload)), *_ACCEPTED_HEADERS],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _freezing_after_startup(send: Send) -> Send:
    """Freeze the heap (``runtime.freeze_heap``) once the app has started, before
    the first request rather than during the first sale."""

    async def freezing(message: Message) -> None:
        if message["type"] == "lifespan.startup.complete":
            freeze_heap()
        await send(message)

    return freezing


async def _read_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole body, and a ``receive`` that replays it for the app behind (None
    when the client went away or sent more than it declared)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, _replay([message], receive)
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY:
            return None, _replay(
                [{"type": "http.request", "body": b"".join(chunks), "more_body": True}], receive
            )
        if not message.get("more_body", False):
            break
    raw = b"".join(chunks)
    return raw, _replay([{"type": "http.request", "body": raw, "more_body": False}], receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _problem(error: SiyuError, scope: Scope, receive: Receive, send: Send) -> None:
    """As the app's ``SiyuError`` handler renders it (``siyu.core.problems``)."""
    headers: dict[str, Any] | None = None
    retry_after = error.data.get("retry_after_seconds")
    if retry_after is not None:
        headers = {"Retry-After": str(retry_after)}
    response = problem_response(
        error.status, error.code, error.message, error.data, headers=headers
    )
    await response(scope, receive, send)
