"""The public short URL ``/c/{code}``: count the scan, send the visitor on with ``ch=``.

No sign-in: whoever scans a poster lands here. Scans are counted at most once per IP
per code per minute (``app.state.rate_limiter``), so reloading or a bot hammering the
link does not inflate the figures; the redirect itself is never refused.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from siyu.campaigns.channel_codes import errors
from siyu.campaigns.channel_codes import service as code_service
from siyu.core.http import SessionDep, client_ip
from siyu.core.ratelimit import RateLimiter
from siyu.web.console import rendering
from siyu.web.console.deps import request_translator

router = APIRouter(include_in_schema=False)

SCAN_WINDOW_SECONDS = 60
SCANS_PER_WINDOW = 1


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get("/c/{code}", response_model=None)
def follow_short_url(code: str, request: Request, session: SessionDep) -> Response:
    try:
        channel_code = code_service.find_active(session, code)
    except errors.UnknownChannelCode:
        if not _wants_html(request):
            raise
        translator = request_translator(request)
        return rendering.html(
            request,
            "channel_codes_unknown.html",
            {"code": code[:30]},
            translator=translator,
            status=404,
        )
    limiter: RateLimiter = request.app.state.rate_limiter
    key = f"channel_code_scan:{channel_code.id}:{client_ip(request) or '-'}"
    if limiter.hit(key, limit=SCANS_PER_WINDOW, window_seconds=SCAN_WINDOW_SECONDS).allowed:
        code_service.record_scan(session, channel_code)
    target = code_service.landing_url(channel_code.target_url, channel_code.code)
    # 302, not 301: the code's target may change and browsers must not cache the hop.
    return RedirectResponse(target, status_code=302, headers={"Cache-Control": "no-store"})
