"""The dashboard: real job and outbox figures, and jobs finished per hour as a chart."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from siyu.core import jobs, outbox
from siyu.core.http import SessionDep, SettingsDep
from siyu.models.job import JobStatus
from siyu.models.outbox import OutboxStatus
from siyu.staff.permissions import Permission
from siyu.web.console.deps import PageDep
from siyu.web.i18n import Translator

router = APIRouter()

CHART_HOURS = 24


def hourly_chart(
    buckets: list[tuple[datetime, int]], zone: ZoneInfo, t: Translator
) -> dict[str, Any]:
    """What console.js hands to ECharts; labels are hours in the installation's zone."""
    local = [moment.astimezone(zone) for moment, _count in buckets]
    values = [count for _moment, count in buckets]
    return {
        "labels": [moment.strftime("%H:00") for moment in local],
        "fullLabels": [moment.strftime("%Y-%m-%d %H:00") for moment in local],
        "values": values,
        "seriesName": t("dashboard.chart.series"),
        "emptyText": t("dashboard.chart.empty"),
        "total": sum(values),
    }


@router.get("/console")
def dashboard(page: PageDep, session: SessionDep, settings: SettingsDep) -> HTMLResponse:
    job_counts = jobs.job_stats(session)
    event_counts = outbox.outbox_stats(session)
    chart = hourly_chart(
        jobs.jobs_finished_per_hour(session, hours=CHART_HOURS), settings.tzinfo, page.t
    )
    return page.render(
        "dashboard.html",
        active="dashboard",
        job_counts=[(status.value, job_counts.get(status.value, 0)) for status in JobStatus],
        event_counts=[(status.value, event_counts.get(status.value, 0)) for status in OutboxStatus],
        chart=chart,
        show_system_link=page.may(Permission.SYSTEM_MANAGE),
    )
