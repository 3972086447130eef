"""The figures `siyu demo` prints about the brand's analytics, read through the services.

Each comes from the same function the dashboard calls, over the last 30 days ending
yesterday: GMV (``metrics.summary``), the driver tree's largest factor against the
30 days before (``drivers.driver_tree``), the top channel code by last-touch
attribution (``attribution.attribute``) and the operations diagnosis grid's 缺失 cells
(``diagnosis.diagnosis_grid``) with the one leaving the most customers alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from siyu.analytics import attribution, diagnosis, drivers, metrics
from siyu.analytics.connection import Analytics, open_analytics
from siyu.analytics.period import Period
from siyu.staff.scope import DataScope, ScopeKind
from siyu.warehouse.engine import Warehouse

DAYS = 30


@dataclass(frozen=True)
class Headline:
    period: Period
    gmv: int  # fen, last 30 days
    orders: int
    buyers: int
    gmv_change: int  # fen, against the 30 days before
    driver: str | None  # the factor with the largest contribution to the change
    driver_contribution: int  # fen
    top_channel: str | None  # channel code name, last touch
    top_channel_gmv: int  # fen
    top_channel_share: float
    missing_cells: int  # touchpoint × stage cells with no campaign (缺失)
    cells: int
    missing_example: tuple[str, str, int] | None  # touchpoint, stage, audience left alone


def last_30_days(today: date) -> Period:
    end = today - timedelta(days=1)
    return Period(end - timedelta(days=DAYS - 1), end)


def last_30_days_gmv(analytics: Analytics, today: date) -> int:
    return int(metrics.summary(analytics, last_30_days(today)).get("gmv") or 0)


def read(session: Session, warehouse: Warehouse, timezone: str, today: date) -> Headline:
    period = last_30_days(today)
    with open_analytics(
        warehouse, session, scope=DataScope(ScopeKind.ALL), timezone=timezone, today=today
    ) as analytics:
        figures = metrics.summary(analytics, period)
        tree = drivers.driver_tree(analytics, period)
        credited = attribution.attribute(
            analytics,
            period,
            model=attribution.AttributionModel.LAST_TOUCH,
            dimension=attribution.AttributionDimension.CHANNEL_CODE,
        )
        grid = diagnosis.diagnosis_grid(analytics, session, period)
    leading = max(tree.total.factors, key=lambda factor: abs(factor.contribution), default=None)
    # NO_TOUCH holds the orders no channel code brought: not a channel to name.
    coded = [row for row in credited if row.value != attribution.NO_TOUCH]
    top = coded[0] if coded else None
    missing = [cell for cell in grid.cells if cell.missing]
    example = max(missing, key=lambda cell: cell.audience, default=None)
    return Headline(
        period=period,
        gmv=int(figures.get("gmv") or 0),
        orders=int(figures.get("orders") or 0),
        buyers=int(figures.get("buyers") or 0),
        gmv_change=tree.total.change,
        driver=leading.key if leading else None,
        driver_contribution=leading.contribution if leading else 0,
        top_channel=top.label if top else None,
        top_channel_gmv=top.credited_gmv if top else 0,
        top_channel_share=top.share if top else 0.0,
        missing_cells=len(missing),
        cells=len(grid.cells),
        missing_example=(example.touchpoint, example.stage, example.audience) if example else None,
    )
