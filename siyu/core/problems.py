"""Error rendering (application/problem+json) and the request size limit."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from siyu.core.errors import SiyuError

logger = logging.getLogger("siyu.errors")

PROBLEM_JSON = "application/problem+json"

_HTTP_CODES = {
    400: "request.bad",
    401: "auth.required",
    403: "auth.permission_denied",
    404: "route.not_found",
    405: "route.method_not_allowed",
    413: "request.too_large",
    415: "request.unsupported_media_type",
    429: "request.rate_limited",
}


def problem_response(
    status: int,
    code: str,
    message: str,
    data: dict[str, Any] | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": message,
        "status": status,
        "code": code,
        "detail": message,
    }
    if data:
        body["data"] = data
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SiyuError)
    async def _siyu_error(_request: Request, error: SiyuError) -> JSONResponse:
        headers = None
        retry_after = error.data.get("retry_after_seconds")
        if retry_after is not None:
            headers = {"Retry-After": str(retry_after)}
        return problem_response(
            error.status, error.code, error.message, error.data, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field_path(item.get("loc", ())),
                "location": str(item.get("loc", ("body",))[0]),
                "message": item.get("msg", ""),
                "type": item.get("type", ""),
            }
            for item in error.errors()
        ]
        return problem_response(
            422, "request.invalid", "The request is invalid.", {"errors": errors}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(error.status_code, "request.error")
        message = error.detail if isinstance(error.detail, str) else "Request failed."
        if error.status_code == 404:
            message = "No such route."
        return problem_response(error.status_code, code, message, headers=error.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(_request: Request, error: IntegrityError) -> JSONResponse:
        # A service should turn expected races into its own code; reaching here means a
        # concurrent write won, which is still the client's conflict, not a server crash.
        logger.warning("integrity error reached the handler: %s", error.orig)
        return problem_response(409, "resource.conflict", "The request conflicts with another.")

    @app.exception_handler(DataError)
    async def _data_error(_request: Request, error: DataError) -> JSONResponse:
        # The database refused a value the schema let through, e.g. an id beyond
        # 64 bits in a path on PostgreSQL: the client's mistake, not a crash.
        logger.info("data error reached the handler: %s", error.orig)
        return problem_response(422, "request.value_out_of_range", "A value is out of range.")

    @app.exception_handler(OverflowError)
    async def _overflow(_request: Request, _error: OverflowError) -> JSONResponse:
        # SQLite's driver raises this for integers beyond 64 bits.
        return problem_response(422, "request.value_out_of_range", "A value is out of range.")

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=error)
        return problem_response(500, "internal_error", "Internal server error.")


class BodySizeLimit:
    """Refuse request bodies over ``max_bytes`` with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return

        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413,
            "request.too_large",
            "The request body is too large.",
            {"max_bytes": self.max_bytes},
        )
        await response(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    # An HTTPException so that FastAPI's body parser re-raises it as is (it turns any
    # other error while reading the body into a 400) and the handler renders a 413.
    def __init__(self) -> None:
        super().__init__(status_code=413, detail="The request body is too large.")
