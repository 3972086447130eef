"""Pages of the sections later issues build: what each will do and which issue brings it."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from siyu.web.console.deps import PageDep, require_section
from siyu.web.console.navigation import SECTIONS, Section

router = APIRouter()


def _section_view(section: Section) -> Callable[[PageDep], HTMLResponse]:
    def view(page: PageDep) -> HTMLResponse:
        require_section(page, section)
        return page.render("section.html", active=section.slug, section=section)

    view.__name__ = f"section_{section.slug}"
    return view


for _section in SECTIONS:
    if not _section.built:
        router.add_api_route(
            _section.path,
            _section_view(_section),
            methods=["GET"],
            response_class=HTMLResponse,
            name=f"console_section_{_section.slug}",
        )
