"""Who is looking at a console page, in which language, and what they may open."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from siyu.core.errors import PermissionDenied
from siyu.core.http import SessionDep
from siyu.models.staff import Staff
from siyu.staff.auth import optional_principal
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.web.console import rendering
from siyu.web.console.navigation import SECTIONS_BY_SLUG, Section, may_open, navigation_for
from siyu.web.i18n import LANGUAGE_COOKIE, LANGUAGE_QUERY, Translator, pick_language


class LoginRequired(Exception):
    """Raised for an anonymous console request; the handler sends it to the login page."""


def request_translator(request: Request, profile_language: str | None = None) -> Translator:
    language = pick_language(
        request.query_params.get(LANGUAGE_QUERY),
        request.cookies.get(LANGUAGE_COOKIE),
        profile_language,
    )
    return Translator(language)


@dataclass
class ConsolePage:
    """Everything the layout needs, gathered once per request.

    Plain values only: the error handler renders with it after the database session
    has been rolled back, so nothing here may lazy-load.
    """

    request: Request
    principal: Principal
    display_name: str
    t: Translator
    csrf_token: str

    def may(self, permission: Permission) -> bool:
        return self.principal.has(permission)

    def require(self, permission: Permission) -> None:
        self.principal.require(permission)

    def render(
        self,
        template: str,
        *,
        active: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **values: Any,
    ) -> HTMLResponse:
        return rendering.html(
            self.request,
            template,
            {
                "page": self,
                "active": active,
                "nav": navigation_for(self.principal),
                "csrf_token": self.csrf_token,
                **values,
            },
            translator=self.t,
            status=status,
            headers=headers,
        )


def console_page(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> ConsolePage:
    # optional_principal already checked the CSRF token of any cookie-authenticated
    # write, so every console route that depends on this one is covered.
    if principal is None:
        raise LoginRequired()
    staff = session.get(Staff, principal.staff_id) if principal.staff_id is not None else None
    page = ConsolePage(
        request=request,
        principal=principal,
        display_name=(staff.display_name if staff else "") or principal.username,
        t=request_translator(request, staff.language if staff else None),
        # Bearer-token callers have no session, so no form token either.
        csrf_token=getattr(request.state, "csrf_token", ""),
    )
    # Kept for the error handlers, which render failures inside the layout.
    request.state.console_page = page
    return page


PageDep = Annotated[ConsolePage, Depends(console_page)]


def page_requiring(permission: Permission) -> Callable[..., ConsolePage]:
    """Dependency factory: the page (and any write behind it) needs ``permission``."""

    def dependency(page: PageDep) -> ConsolePage:
        page.require(permission)
        return page

    dependency.__name__ = f"page_requiring_{permission.value.replace('.', '_')}"
    return dependency


def require_section(page: ConsolePage, section: Section) -> None:
    if not may_open(page.principal, section):
        raise PermissionDenied(data={"permission": str(section.permission)})


def section(slug: str) -> Section:
    return SECTIONS_BY_SLUG[slug]
