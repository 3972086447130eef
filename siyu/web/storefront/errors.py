"""A failure under /shop renders the storefront's error page, never problem JSON.

Everything else (the JSON APIs, /console) keeps the handler it had: this wraps the
app's last-resort handler, which still runs first because it logs the traceback.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response

from siyu.web.storefront.pages import render

SHOP_PREFIX = "/shop"

Handler = Callable[[Request, Any], Response | Awaitable[Response]]


def is_shop_page(path: str) -> bool:
    return path == SHOP_PREFIX or path.startswith(SHOP_PREFIX + "/")


def install_storefront_error_handler(app: FastAPI) -> None:
    previous: Handler | None = app.exception_handlers.get(Exception)

    async def unexpected(request: Request, error: Exception) -> Response:
        response = None
        if previous is not None:
            result = previous(request, error)
            response = await result if inspect.isawaitable(result) else result
        if is_shop_page(request.url.path) or response is None:
            return render(
                request, page="server_error", title_key="shop.server_error.title", status=500
            )
        return response

    app.exception_handler(Exception)(unexpected)
