"""Console page of customer lifetime value (客户终身价值), /console/analytics/clv.

The latest fit (parameters, log-likelihood, holdout quality), the distributions of
expected 365-day value and of probability alive (ECharts bars built in Python), the
top customers the viewer may see, and a "fit now" form for those who may rescore
the brand (``audiences.manage``). Numbers come from ``siyu.analytics.clv``, as the
API's do.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import RedirectResponse, Response

from siyu.analytics.clv import overview, service
from siyu.analytics.clv import profile as _profile  # noqa: F401  (registers the 360 section)
from siyu.analytics.clv.tables import report_tables
from siyu.analytics.deps import FormatQuery, TableQuery
from siyu.analytics.report import ExportFormat
from siyu.core import clock
from siyu.core.errors import SiyuError
from siyu.core.http import SessionDep, SettingsDep
from siyu.warehouse.engine import Warehouse
from siyu.web.console.analytics_charts import bar_chart
from siyu.web.console.analytics_common import BASE, AnalyticsPage, render_or_export
from siyu.web.console.deps import ConsolePage
from siyu.web.console.errors import error_message
from siyu.web.console.staff_pages import attempt

router = APIRouter()

PAGE = BASE + "/clv"
FormText = Annotated[str, Form(max_length=20)]


def _render(
    page: ConsolePage,
    session: SessionDep,
    *,
    export_format: ExportFormat = ExportFormat.JSON,
    table: str | None = None,
    flash: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    result = overview.overview(session, page.principal)
    value_chart = bar_chart(
        [bar.label for bar in result.value_histogram],
        {page.t("analytics_clv.customers"): [bar.customers for bar in result.value_histogram]},
    )
    alive_chart = bar_chart(
        [bar.label for bar in result.alive_histogram],
        {page.t("analytics_clv.customers"): [bar.customers for bar in result.alive_histogram]},
    )
    response = render_or_export(
        page,
        "analytics/clv.html",
        tab="clv",
        tables=report_tables(result, page.t),
        export_format=export_format,
        table_name=table,
        filters=None,
        result=result,
        value_chart=value_chart,
        alive_chart=alive_chart,
        may_fit=page.may(service.FIT_PERMISSION),
        flash=flash,
        error=error,
    )
    response.status_code = status
    return response


@router.get(PAGE)
def clv_page(
    page: AnalyticsPage,
    session: SessionDep,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
    done: str = "",
) -> Response:
    flash = page.t("analytics_clv.fitted") if done == "fitted" else None
    return _render(page, session, export_format=export_format, table=table, flash=flash)


@router.post(PAGE + "/fit")
def clv_fit(
    page: AnalyticsPage,
    session: SessionDep,
    settings: SettingsDep,
    model: FormText = "bgnbd",
    time_unit: FormText = "week",
    calibration_end: FormText = "",
) -> Response:
    page.require(service.FIT_PERMISSION)
    try:
        end = date.fromisoformat(calibration_end) if calibration_end.strip() else None
    except ValueError:
        return _render(page, session, error=page.t("analytics_clv.invalid_date"), status=422)
    outcome = attempt(
        session,
        lambda: service.fit_by_staff(
            session,
            Warehouse.from_settings(settings),
            page.principal,
            model=model,
            now=clock.now(),
            calibration_end=end,
            time_unit=time_unit,
            timezone=settings.timezone,
        ),
    )
    if isinstance(outcome, SiyuError):
        return _render(page, session, error=error_message(page.t, outcome), status=outcome.status)
    return RedirectResponse(f"{PAGE}?done=fitted", status_code=303)
