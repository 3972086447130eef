"""Console sign-in and sign-out.

The login form has no session yet, so its CSRF token is a signed double-submit
cookie: a random value in the form, the same value signed with the app's secret in a
cookie. A cross-site form can neither read the cookie nor forge its signature.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from itsdangerous import BadSignature, TimestampSigner

from siyu.core import security
from siyu.core.http import SessionDep, client_ip
from siyu.core.ratelimit import RateLimiter
from siyu.core.settings import Settings
from siyu.staff import login
from siyu.staff.auth import SESSION_COOKIE
from siyu.staff.errors import InvalidCredentials, LoginLocked
from siyu.web.console import rendering
from siyu.web.console.deps import PageDep, request_translator
from siyu.web.console.errors import LOGIN_PATH, error_message
from siyu.web.i18n import Translator

router = APIRouter()

LOGIN_CSRF_COOKIE = "siyu_login_csrf"
# Long enough for someone to be interrupted while signing in.
LOGIN_CSRF_MAX_AGE_SECONDS = 2 * 3600
_LOGIN_CSRF_SALT = "siyu.console.login-csrf"


def safe_next(candidate: str | None) -> str:
    """Only a path inside the console: never another host, scheme or protocol-relative URL."""
    if not candidate or "\\" in candidate or any(ord(char) < 32 for char in candidate):
        return "/console"
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc or candidate.startswith("//"):
        return "/console"
    if parts.path != "/console" and not parts.path.startswith("/console/"):
        return "/console"
    if parts.path.startswith(LOGIN_PATH):
        return "/console"
    return candidate


def _signer(request: Request) -> TimestampSigner:
    return TimestampSigner(request.app.state.secret_key, salt=_LOGIN_CSRF_SALT)


def _login_csrf_ok(request: Request, submitted: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not submitted:
        return False
    try:
        expected = _signer(request).unsign(cookie, max_age=LOGIN_CSRF_MAX_AGE_SECONDS).decode()
    except BadSignature:
        return False
    return security.constant_time_equals(expected, submitted)


def _login_page(
    request: Request,
    t: Translator,
    *,
    next_path: str,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    # A fresh token on every render, so a page left open past the cookie's age recovers.
    token = secrets.token_urlsafe(32)
    response = rendering.html(
        request,
        "login.html",
        {"csrf_token": token, "next_path": next_path, "username": username, "error": error},
        translator=t,
        status=status,
        headers=headers,
    )
    settings: Settings = request.app.state.settings
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        _signer(request).sign(token).decode(),
        max_age=LOGIN_CSRF_MAX_AGE_SECONDS,
        path=LOGIN_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


@router.get("/console/login", response_model=None)
def login_form(
    request: Request,
    session: SessionDep,
    next_url: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    next_path = safe_next(next_url)
    token = request.cookies.get(SESSION_COOKIE)
    if token and login.resolve_session(session, token) is not None:
        return RedirectResponse(next_path, status_code=303)
    return _login_page(request, request_translator(request), next_path=next_path)


@router.post("/console/login", response_model=None)
def login_submit(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next_url: Annotated[str, Form(alias="next")] = "",
) -> Response:
    t = request_translator(request)
    next_path = safe_next(next_url)
    username = username.strip()[:64]
    if not _login_csrf_ok(request, csrf_token):
        return _login_page(
            request,
            t,
            next_path=next_path,
            username=username,
            error=t("error.auth.csrf_failed"),
            status=403,
        )

    settings: Settings = request.app.state.settings
    ip = client_ip(request)
    limiter: RateLimiter = request.app.state.rate_limiter
    decision = limiter.hit(
        f"console-login:{ip or 'unknown'}", limit=settings.login_rate_per_minute, window_seconds=60
    )
    if not decision.allowed:
        return _login_page(
            request,
            t,
            next_path=next_path,
            username=username,
            error=t("error.request.rate_limited"),
            status=429,
            headers={"Retry-After": str(decision.retry_after_seconds)},
        )

    result = login.check_login(session, settings, username, password, ip=ip)
    if result.staff is None:
        # Returned, not raised: the failed-attempt counter must commit with this request.
        error = result.error or InvalidCredentials()
        message = error_message(t, error)
        headers = None
        if isinstance(error, LoginLocked):
            seconds = int(error.data.get("retry_after_seconds", 60))
            message = t("error.auth.locked", minutes=max(1, -(-seconds // 60)))
            headers = {"Retry-After": str(seconds)}
        return _login_page(
            request,
            t,
            next_path=next_path,
            username=username,
            error=message,
            status=error.status,
            headers=headers,
        )

    opened = login.open_session(session, settings, result.staff, ip=ip)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/console/logout")
def logout(request: Request, session: SessionDep, _page: PageDep) -> RedirectResponse:
    # PageDep verified the session's CSRF token before we get here.
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        login.close_session(session, token)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    settings: Settings = request.app.state.settings
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.secure_cookies
    )
    return response
