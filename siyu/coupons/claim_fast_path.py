"""Coupon claims as a plain ASGI route in front of FastAPI (``siyu.core.asgi_routes``):
a coupon-centre drop or a share link posted in a group is the storefront's hottest
write after the flash sale's click.

* ``POST /api/shop/v1/coupons/claim`` with ``{"template_id": …}``: a body ``ClaimIn``
  might coerce or refuse goes to the FastAPI route with the body replayed;
* ``POST /api/shop/v1/coupon-links/{public_id}``: the route takes no body (one sent
  is ignored, as FastAPI does); an id the route's path check would refuse (empty,
  over 40 characters) goes to the route.

Well-formed claims are decided by ``claiming.claim``; templates it cannot be sure of
go to the FastAPI route as well."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from siyu.core.asgi_routes import declares_small_json, read_body, send_json, send_problem
from siyu.core.errors import SiyuError
from siyu.core.http import get_session
from siyu.coupons import claiming
from siyu.customers.sessions import token_from_asgi_headers

PATH = "/api/shop/v1/coupons/claim"
LINK_PREFIX = "/api/shop/v1/coupon-links/"
MAX_BODY = 1024  # {"template_id": "<40 characters>"} is ~60 bytes


class ClaimFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == PATH:
            await self._centre(scope, receive, send)
        elif path.startswith(LINK_PREFIX):
            await self._link(scope, receive, send, path[len(LINK_PREFIX) :])
        else:
            await self.app(scope, receive, send)

    def _runtime(self, scope: Scope) -> claiming.ClaimRuntime | None:
        """The runtime, or None when this request must reach the route: requests
        whose session is redirected (tests sharing one rolled-back session with the
        app) need the route, since this path has no session."""
        app = scope["app"]
        runtime = claiming.runtime_for(app)
        if not runtime.fast_path or get_session in app.dependency_overrides:
            return None
        return runtime

    async def _centre(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self._runtime(scope)
        if runtime is None or not declares_small_json(
            scope, min(MAX_BODY, runtime.settings.max_request_bytes)
        ):
            await self.app(scope, receive, send)
            return
        raw, receive = await read_body(receive, MAX_BODY)
        public_id = claiming.parse_body(raw) if raw is not None else None
        if public_id is None:
            await self.app(scope, receive, send)
            return
        await self._claim(scope, receive, send, runtime, public_id, via_link=False)

    async def _link(self, scope: Scope, receive: Receive, send: Send, public_id: str) -> None:
        runtime = self._runtime(scope)
        if runtime is None or not 1 <= len(public_id) <= claiming.PUBLIC_ID_MAX or "/" in public_id:
            await self.app(scope, receive, send)
            return
        await self._claim(scope, receive, send, runtime, public_id, via_link=True)

    async def _claim(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        runtime: claiming.ClaimRuntime,
        public_id: str,
        *,
        via_link: bool,
    ) -> None:
        try:
            body = await claiming.claim(
                runtime,
                token_from_asgi_headers(scope["headers"]),
                public_id,
                via_link=via_link,
            )
        except SiyuError as error:
            await send_problem(error, scope, receive, send)
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        await send_json(send, 201, body)
