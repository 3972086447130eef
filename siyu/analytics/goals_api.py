"""Revenue goals under /api/v1/analytics/goals (docs/goals.md).

Reading needs ``analytics.read``; creating, changing and deleting also need
``guides.manage``. A store manager sees and sets only their own store's goals.
``GET /goals/{id}`` returns the plan, its spread and the pacing as JSON, or with
``?format=csv|xlsx&table=`` one of its tables (``decomposition``, ``spread_month``,
``spread_week``, ``spread_day``, ``pacing``, ``behind``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import Response

from siyu.analytics import goals, goals_pacing
from siyu.analytics.deps import AnalyticsDep, FormatQuery, Reader, TableQuery
from siyu.analytics.goals_schemas import GoalCreate, GoalList, GoalOut, GoalReportOut, GoalUpdate
from siyu.analytics.report import ExportFormat, export_response
from siyu.core.http import SessionDep
from siyu.staff.auth import require
from siyu.staff.principal import Principal
from siyu.web.i18n import Translator

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])

Manager = Annotated[Principal, Depends(require(goals.MANAGE_PERMISSION))]
GoalId = Annotated[int, Path(ge=1, le=2**63 - 1)]
# API tables are labelled in English; the console labels them in the viewer's language.
ENGLISH = Translator("en")


@router.get("/goals", response_model=GoalList)
def list_goals(session: SessionDep, principal: Reader) -> GoalList:
    return GoalList(
        items=[goals_pacing.goal_out(goal) for goal in goals.list_goals(session, principal)]
    )


@router.post("/goals", response_model=GoalOut, status_code=201)
def create_goal(
    body: GoalCreate,
    session: SessionDep,
    analytics: AnalyticsDep,
    principal: Reader,
    _manager: Manager,
) -> GoalOut:
    return goals_pacing.goal_out(goals.create_goal(session, analytics, principal, body))


@router.get("/goals/{goal_id}", response_model=GoalReportOut)
def get_goal(
    goal_id: GoalId,
    session: SessionDep,
    analytics: AnalyticsDep,
    principal: Reader,
    export_format: FormatQuery = ExportFormat.JSON,
    table: TableQuery = None,
) -> GoalReportOut | Response:
    goal = goals.get_goal(session, principal, goal_id)
    result = goals_pacing.report(analytics, goal)
    if export_format is ExportFormat.JSON:
        return result
    return export_response(goals_pacing.tables(result, ENGLISH), export_format, table)


@router.patch("/goals/{goal_id}", response_model=GoalOut)
def update_goal(
    goal_id: GoalId,
    body: GoalUpdate,
    session: SessionDep,
    analytics: AnalyticsDep,
    principal: Reader,
    _manager: Manager,
) -> GoalOut:
    goal = goals.update_goal(session, analytics, principal, goal_id, body)
    return goals_pacing.goal_out(goal)


@router.delete("/goals/{goal_id}", status_code=204)
def delete_goal(
    goal_id: GoalId, session: SessionDep, principal: Reader, _manager: Manager
) -> Response:
    goals.delete_goal(session, principal, goal_id)
    return Response(status_code=204)
