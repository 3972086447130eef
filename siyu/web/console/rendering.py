"""Jinja2 environment and the helpers that turn a template into a console response."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from siyu.web.i18n import LANGUAGE_COOKIE, LANGUAGE_QUERY, LANGUAGES, Translator

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
HTMX_HEADER = "HX-Request"
ONE_YEAR_SECONDS = 365 * 24 * 3600

# The console loads scripts only from its own origin; ECharts tooltips carry inline
# style attributes, hence 'unsafe-inline' for styles alone.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages show personal and operational data: never keep them in shared caches.
    "Cache-Control": "no-store",
}


@pass_context
def _localtime(context: Context, moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    """Show a stored UTC time in the installation's zone (settings.timezone)."""
    if moment is None:
        return "—"
    zone: ZoneInfo = context["tz"]
    return moment.astimezone(zone).strftime(pattern)


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _build_environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        # Everything is escaped, including partials and .j2 fragments.
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["localtime"] = _localtime
    environment.filters["compact_json"] = _compact_json
    return environment


environment = _build_environment()


def is_htmx(request: Request) -> bool:
    return request.headers.get(HTMX_HEADER) == "true"


def language_links(request: Request) -> list[tuple[str, str]]:
    """(language, URL of this page in that language) for the header switch."""
    kept = [(key, value) for key, value in request.query_params.multi_items() if key != "lang"]
    links = []
    for language in LANGUAGES:
        query = urlencode([*kept, (LANGUAGE_QUERY, language)])
        links.append((language, f"{request.url.path}?{query}"))
    return links


def remember_language(request: Request, response: Response, translator: Translator) -> None:
    """``?lang=`` on any console page also sets the cookie, so the choice sticks."""
    if request.query_params.get(LANGUAGE_QUERY) == translator.language:
        settings = request.app.state.settings
        response.set_cookie(
            LANGUAGE_COOKIE,
            translator.language,
            max_age=ONE_YEAR_SECONDS,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )


def html(
    request: Request,
    template: str,
    values: dict[str, Any],
    *,
    translator: Translator,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    settings = request.app.state.settings
    body = environment.get_template(template).render(
        t=translator,
        lang=translator.language,
        tz=settings.tzinfo,
        timezone_name=settings.timezone,
        language_links=language_links(request),
        current_path=request.url.path,
        **values,
    )
    response = HTMLResponse(
        body, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})}
    )
    remember_language(request, response, translator)
    return response
