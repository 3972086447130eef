"""Plain ASGI routes in front of FastAPI, for the few paths a crowd hammers.

An empty FastAPI route tops out near ``/healthz``'s ~2,900 requests/s on this
machine: routing, the dependency machinery, pydantic in and out and the exception
middleware cost more than the work of a flash-sale click or a coupon claim. A fast
path answers such a request itself when it is sure of the answer and hands
everything else to the app untouched, its body replayed, so unusual requests get
exactly the app's own answer (a 422 is pydantic's). These are the pieces every fast
path needs (``siyu.campaigns.flash_sale.fast_path``, ``siyu.coupons.claim_fast_path``).
"""

from __future__ import annotations

from typing import Any

from starlette.types import Message, Receive, Scope, Send

from siyu.core.errors import SiyuError
from siyu.core.problems import problem_response

_JSON_HEADERS = [(b"content-type", b"application/json")]


def is_json(content_type: bytes | None) -> bool:
    if content_type is None:
        return False
    main = content_type.split(b";", 1)[0].strip().lower()
    return main == b"application/json"


def declares_small_json(scope: Scope, max_body: int) -> bool:
    """Whether the request declares a JSON body of 1 … ``max_body`` bytes (anything
    else, chunked bodies included, takes the app's way and its body size limit)."""
    length = content_type = None
    for name, value in scope["headers"]:
        if name == b"content-length":
            length = value
        elif name == b"content-type":
            content_type = value
    return (
        length is not None
        and length.isdigit()
        and 0 < int(length) <= max_body
        and is_json(content_type)
    )


async def read_body(receive: Receive, max_body: int) -> tuple[bytes | None, Receive]:
    """The whole body, and a ``receive`` that replays it for the app behind (None
    when the client went away or sent more than ``max_body``)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None, replay([message], receive)
        chunk = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > max_body:
            return None, replay(
                [{"type": "http.request", "body": b"".join(chunks), "more_body": True}], receive
            )
        if not message.get("more_body", False):
            break
    raw = b"".join(chunks)
    return raw, replay([{"type": "http.request", "body": raw, "more_body": False}], receive)


def replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replaying() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replaying


async def send_json(send: Send, status: int, payload: bytes) -> None:
    """A JSON answer from bytes already rendered as the app would render them."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", b"%d" % len(payload)), *_JSON_HEADERS],
        }
    )
    await send({"type": "http.response.body", "body": payload})


async def send_problem(error: SiyuError, scope: Scope, receive: Receive, send: Send) -> None:
    """As the app's ``SiyuError`` handler renders it (``siyu.core.problems``)."""
    headers: dict[str, Any] | None = None
    retry_after = error.data.get("retry_after_seconds")
    if retry_after is not None:
        headers = {"Retry-After": str(retry_after)}
    response = problem_response(
        error.status, error.code, error.message, error.data, headers=headers
    )
    await response(scope, receive, send)
