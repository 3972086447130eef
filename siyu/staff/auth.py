"""Authentication dependencies: bearer tokens for the API, session cookies for the console.

A request authenticated by the console cookie that changes state must also carry the
session's CSRF token (form field ``csrf_token`` or header ``X-CSRF-Token``); bearer
tokens are not sent by browsers on their own, so they need none.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from siyu.core import security
from siyu.core.errors import PermissionDenied, Unauthorized
from siyu.core.http import SessionDep, client_ip
from siyu.staff import login, tokens
from siyu.staff.errors import InvalidToken
from siyu.staff.permissions import Permission
from siyu.staff.principal import AuthMethod, Principal, principal_for_staff

SESSION_COOKIE = "siyu_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfFailed(PermissionDenied):
    code = "auth.csrf_failed"
    message = "The form expired or did not come from this site; reload and try again."


async def submitted_csrf_token(request: Request) -> str:
    if request.method in SAFE_METHODS:
        return ""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


SubmittedCsrf = Annotated[str, Depends(submitted_csrf_token)]


def optional_principal(
    request: Request, session: SessionDep, submitted: SubmittedCsrf
) -> Principal | None:
    # A plain function so FastAPI runs its database work in the thread pool; only
    # reading the form (for the CSRF field) needs to be async, in its own dependency.
    ip = client_ip(request)
    authorization = request.headers.get("authorization", "")
    if authorization:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() != "bearer" or not credentials.strip():
            raise InvalidToken()
        staff = tokens.resolve_token(session, credentials.strip())
        if staff is None:
            raise InvalidToken()
        return principal_for_staff(staff, via=AuthMethod.TOKEN, ip=ip)

    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    resolved = login.resolve_session(session, cookie)
    if resolved is None:
        return None
    staff, record = resolved
    csrf_ok = bool(submitted) and security.constant_time_equals(submitted, record.csrf_token)
    if request.method not in SAFE_METHODS and not csrf_ok:
        raise CsrfFailed()
    request.state.csrf_token = record.csrf_token
    return principal_for_staff(staff, via=AuthMethod.SESSION, ip=ip)


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized()
    return principal


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Callable[..., Principal]:
    """Dependency factory: the caller must hold ``permission`` (checked before any write)."""

    def dependency(principal: PrincipalDep) -> Principal:
        principal.require(permission)
        return principal

    dependency.__name__ = f"require_{permission.value.replace('.', '_')}"
    return dependency
