"""Customer lifetime value under /api/v1/analytics/clv (docs/clv.md).

``GET /clv`` (``analytics.read``): the latest fits, the distributions of expected
365-day value and of probability alive, and the top customers (ids only), counted
over the customers the caller may see; ``?format=csv|xlsx&table=`` downloads one of
its tables (``siyu.analytics.clv.tables.TABLES``). ``POST /clv/fit`` refits and
rescores every customer of the brand, so it needs ``audiences.manage`` (the
permission that governs the brand-wide scores RFM and lifecycle write) as well.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from siyu.analytics.clv import overview, service
from siyu.analytics.clv import profile as _profile  # noqa: F401  (registers the 360 section)
from siyu.analytics.clv.schemas import ClvOverviewOut, FitRequest, FitRunOut
from siyu.analytics.clv.tables import report_tables
from siyu.analytics.deps import FormatQuery, Reader, TableQuery
from siyu.analytics.report import ExportFormat, export_response
from siyu.core import clock
from siyu.core.http import SessionDep, SettingsDep
from siyu.staff.auth import require
from siyu.staff.principal import Principal
from siyu.warehouse.engine import Warehouse
from siyu.web.i18n import Translator

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

Fitter = Annotated[Principal, Depends(require(service.FIT_PERMISSION))]
# API tables are labelled in English; the console labels them in the viewer's language.
ENGLISH = Translator("en")


@router.get("/clv", response_model=ClvOverviewOut)
def get_clv(
    session: SessionDep,
    principal: Reader,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> ClvOverviewOut | Response:
    result = overview.overview(session, principal)
    if export_format is ExportFormat.JSON:
        return ClvOverviewOut.of(result)
    return export_response(report_tables(result, ENGLISH), export_format, table)


@router.post("/clv/fit", response_model=FitRunOut)
def fit_clv(
    body: FitRequest,
    session: SessionDep,
    settings: SettingsDep,
    principal: Reader,
    _fitter: Fitter,
) -> FitRunOut:
    run = service.fit_by_staff(
        session,
        Warehouse.from_settings(settings),
        principal,
        model=body.model.value,
        now=clock.now(),
        calibration_end=body.calibration_end,
        time_unit=body.time_unit.value,
        timezone=settings.timezone,
    )
    return FitRunOut.of(run)
