"""Errors under /console render as HTML pages (or an htmx flash), never problem JSON.

The app's JSON handlers stay in charge of every other path: these wrappers look at
the path and hand anything outside the console back to the handler they replaced.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from siyu.core.errors import SiyuError
from siyu.web.console import rendering
from siyu.web.console.deps import ConsolePage, LoginRequired, request_translator
from siyu.web.i18n import Translator

CONSOLE_PREFIX = "/console"
LOGIN_PATH = "/console/login"
FLASH_TARGET = "#console-flash"

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

_TITLED_STATUSES = frozenset({400, 401, 403, 404, 405, 409, 413, 422, 429, 500})


def is_console_path(path: str) -> bool:
    return path == CONSOLE_PREFIX or path.startswith(CONSOLE_PREFIX + "/")


def error_message(t: Translator, error: SiyuError) -> str:
    """The catalog's wording for a known code; the service's own message otherwise."""
    key = f"error.{error.code}"
    if t.has(key):
        return t(key, **error.data)
    return t("error.generic", detail=error.message)


def login_url(next_path: str | None) -> str:
    if not next_path or next_path == CONSOLE_PREFIX:
        return LOGIN_PATH
    return f"{LOGIN_PATH}?{urlencode({'next': next_path})}"


def flash_fragment(
    request: Request, t: Translator, *, message: str, status: int, kind: str = "error"
) -> Response:
    """For htmx requests: drop the message into the page's flash area, wherever it came from."""
    return rendering.html(
        request,
        "partials/flash.html",
        {"flash": {"kind": kind, "message": message}},
        translator=t,
        status=status,
        headers={"HX-Retarget": FLASH_TARGET, "HX-Reswap": "outerHTML"},
    )


def error_page(
    request: Request,
    *,
    status: int,
    message: str | None = None,
    message_key: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    page: ConsolePage | None = getattr(request.state, "console_page", None)
    t = page.t if page is not None else request_translator(request)
    text = message if message is not None else t(message_key or "error.request.bad")
    if rendering.is_htmx(request):
        return flash_fragment(request, t, message=text, status=status)
    title_key = f"error.title.{status}" if status in _TITLED_STATUSES else "error.title.default"
    values = {"error_status": status, "title": t(title_key), "message": text}
    if page is not None:
        # Signed in: keep the navigation so the operator can go elsewhere.
        return page.render("error.html", active="", status=status, headers=headers, **values)
    return rendering.html(
        request, "error_bare.html", values, translator=t, status=status, headers=headers
    )


async def _delegate(handler: Handler, request: Request, error: Exception) -> Response:
    result = handler(request, error)
    if inspect.isawaitable(result):
        return await result
    return result


def install_console_error_handlers(app: FastAPI) -> None:
    original_siyu: Handler = app.exception_handlers[SiyuError]
    original_http: Handler = app.exception_handlers[StarletteHTTPException]
    original_validation: Handler = app.exception_handlers[RequestValidationError]
    original_unexpected: Handler | None = app.exception_handlers.get(Exception)

    async def siyu_error(request: Request, error: SiyuError) -> Response:
        if not is_console_path(request.url.path):
            return await _delegate(original_siyu, request, error)
        page: ConsolePage | None = getattr(request.state, "console_page", None)
        t = page.t if page is not None else request_translator(request)
        retry_after = error.data.get("retry_after_seconds")
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return error_page(
            request, status=error.status, message=error_message(t, error), headers=headers
        )

    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if not is_console_path(request.url.path):
            return await _delegate(original_http, request, error)
        key = {404: "error.route.not_found", 405: "error.route.method_not_allowed"}.get(
            error.status_code, "error.request.bad"
        )
        return error_page(request, status=error.status_code, message_key=key)

    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        if not is_console_path(request.url.path):
            return await _delegate(original_validation, request, error)
        return error_page(request, status=422, message_key="error.request.invalid")

    async def login_required(request: Request, _error: LoginRequired) -> Response:
        # Only a page view is worth coming back to; a form post would be replayed blind.
        next_path = None
        if request.method == "GET":
            query = request.url.query
            next_path = request.url.path + (f"?{query}" if query else "")
        target = login_url(next_path)
        if rendering.is_htmx(request):
            # htmx follows redirects inside the XHR; this header makes it navigate instead.
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    async def unexpected(request: Request, error: Exception) -> Response:
        response = None
        if original_unexpected is not None:
            # Still called on console paths: it is the one that logs the traceback.
            response = await _delegate(original_unexpected, request, error)
        if is_console_path(request.url.path) or response is None:
            return error_page(request, status=500, message_key="error.internal_error")
        return response

    # Registering again under the same class replaces the JSON handler kept above.
    app.exception_handler(SiyuError)(siyu_error)
    app.exception_handler(StarletteHTTPException)(http_error)
    app.exception_handler(RequestValidationError)(validation_error)
    app.exception_handler(LoginRequired)(login_required)
    app.exception_handler(Exception)(unexpected)
