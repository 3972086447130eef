"""What the analytics console pages share: the page dependency, the filter form,
the scoped connection and "render the page or download one of its tables"."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from siyu.analytics.connection import Analytics
from siyu.analytics.deps import brand_today, open_for
from siyu.analytics.period import Period, parse_period
from siyu.analytics.report import ExportFormat, ReportTable, export_response
from siyu.core.settings import Settings
from siyu.staff.permissions import Permission
from siyu.staff.scope import ScopeKind, scope_for
from siyu.web.console.deps import ConsolePage, page_requiring

AnalyticsPage = Annotated[ConsolePage, Depends(page_requiring(Permission.ANALYTICS_READ))]
ACTIVE = "analytics"
BASE = "/console/analytics"
DateQuery = Annotated[date | None, Query()]
TextQuery = Annotated[str | None, Query(max_length=32)]


@dataclass(frozen=True)
class Picker:
    """A <select> of the filter form: ``options`` are (value, translation key)."""

    name: str
    label_key: str
    options: Sequence[tuple[str, str]]
    value: str


def picker_options(prefix: str, group: str, values: Iterable[str]) -> list[tuple[str, str]]:
    """A picker's options: each value with its key ``<prefix>.<group>.<value>``."""
    return [(value, f"{prefix}.{group}.{value}") for value in values]


@dataclass
class Filters:
    start: date
    end: date
    pickers: list[Picker] = field(default_factory=list)
    hidden: list[tuple[str, str]] = field(default_factory=list)
    scope_note: str = ""


def period_from(settings: Settings, start: date | None, end: date | None) -> Period:
    """The form's period; invalid dates raise analytics.invalid_period (a 400 page)."""
    return parse_period(start, end, today=brand_today(settings))


def filters_for(page: ConsolePage, period: Period, pickers: Sequence[Picker] = ()) -> Filters:
    scope = scope_for(page.principal)
    note = ""
    if scope.kind is ScopeKind.STORE:
        note = page.t("analytics.scope.store", store_id=scope.store_id)
    elif scope.kind is ScopeKind.OWN:
        note = page.t("analytics.scope.own")
    return Filters(start=period.start, end=period.end, pickers=list(pickers), scope_note=note)


def connect(page: ConsolePage, session: Session, settings: Settings) -> Analytics:
    return open_for(session, settings, page.principal)


def export_url_builder(page: ConsolePage) -> Callable[[str, str], str]:
    """``export_url(table, fmt)``: this page's URL with its filters plus format/table."""
    query = [
        (key, value)
        for key, value in page.request.query_params.multi_items()
        if key not in ("format", "table")
    ]

    def export_url(table: str, export_format: str) -> str:
        extra = [("format", export_format), ("table", table)]
        return f"{page.request.url.path}?{urlencode([*query, *extra])}"

    return export_url


def render_or_export(
    page: ConsolePage,
    template: str,
    *,
    tab: str,
    tables: list[ReportTable],
    export_format: ExportFormat,
    table_name: str | None,
    **values: Any,
) -> Response:
    """The dashboard page, or — with ``?format=csv|xlsx`` — one of its tables."""
    if export_format is not ExportFormat.JSON:
        return export_response(tables, export_format, table_name)
    return page.render(
        template,
        active=ACTIVE,
        tab=tab,
        tables={table.name: table for table in tables},
        export_url=export_url_builder(page),
        **values,
    )
