"""What every analytics endpoint and console page shares: who may read, the period
and slice parameters, and the scoped connection."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Annotated

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from siyu.analytics.connection import Analytics, open_analytics
from siyu.analytics.period import Grain, Period, parse_period
from siyu.analytics.report import ExportFormat
from siyu.core import clock
from siyu.core.http import SessionDep, SettingsDep
from siyu.core.settings import Settings
from siyu.staff.auth import require
from siyu.staff.permissions import Permission
from siyu.staff.principal import Principal
from siyu.staff.scope import scope_for
from siyu.warehouse.engine import Warehouse

Reader = Annotated[Principal, Depends(require(Permission.ANALYTICS_READ))]


def brand_today(settings: Settings) -> date:
    """Today in the brand's time zone, from the injectable clock."""
    return clock.now().astimezone(settings.tzinfo).date()


def open_for(session: Session, settings: Settings, principal: Principal) -> Analytics:
    """The scoped analytics connection of a caller (console pages use it directly)."""
    return open_analytics(
        Warehouse.from_settings(settings),
        session,
        scope=scope_for(principal),
        timezone=settings.timezone,
        today=brand_today(settings),
    )


def analytics_connection(
    session: SessionDep, settings: SettingsDep, principal: Reader
) -> Iterator[Analytics]:
    analytics = open_for(session, settings, principal)
    try:
        yield analytics
    finally:
        analytics.close()


AnalyticsDep = Annotated[Analytics, Depends(analytics_connection, scope="function")]


def period_parameter(
    settings: SettingsDep,
    start: Annotated[
        date | None, Query(description="First day (brand time zone), inclusive")
    ] = None,
    end: Annotated[date | None, Query(description="Last day (brand time zone), inclusive")] = None,
) -> Period:
    return parse_period(start, end, today=brand_today(settings))


PeriodDep = Annotated[Period, Depends(period_parameter)]
GrainQuery = Annotated[Grain, Query()]
FormatQuery = Annotated[ExportFormat, Query(alias="format")]
TableQuery = Annotated[str | None, Query(alias="table", max_length=64)]
