"""``POST /api/shop/v1/coupons/claim`` as a plain ASGI route in front of FastAPI
(``siyu.core.asgi_routes``): a coupon-centre burst is the storefront's hottest
write after the flash sale's click. Well-formed claims are decided by
``claiming.claim``; a body ``ClaimIn`` might coerce or refuse, and templates the
fast path cannot be sure of, go to the FastAPI route with the body replayed."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from siyu.core.asgi_routes import declares_small_json, read_body, send_json, send_problem
from siyu.core.errors import SiyuError
from siyu.core.http import get_session
from siyu.coupons import claiming
from siyu.customers.sessions import token_from_asgi_headers

PATH = "/api/shop/v1/coupons/claim"
MAX_BODY = 1024  # {"template_id": "<40 characters>"} is ~60 bytes


class ClaimFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        app = scope["app"]
        runtime = claiming.runtime_for(app)
        limit = min(MAX_BODY, runtime.settings.max_request_bytes)
        # Requests whose session is redirected (tests sharing one rolled-back
        # session with the app) must reach the route: this path has no session.
        redirected = get_session in app.dependency_overrides
        if not runtime.fast_path or redirected or not declares_small_json(scope, limit):
            await self.app(scope, receive, send)
            return
        raw, receive = await read_body(receive, MAX_BODY)
        public_id = claiming.parse_body(raw) if raw is not None else None
        if public_id is None:
            await self.app(scope, receive, send)
            return
        try:
            body = await claiming.claim(
                runtime, token_from_asgi_headers(scope["headers"]), public_id
            )
        except SiyuError as error:
            await send_problem(error, scope, receive, send)
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        await send_json(send, 201, body)
