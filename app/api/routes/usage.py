"""Token usage and cost: a project's report, and the tenant's usage in one grouping."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query

from app.api.deps import TenantDep
from app.api.routes._responses import errors
from app.api.schemas import UsageReport, UsageTable
from app.services.projects import get_project
from app.services.usage import Grouping, day_range, project_usage, usage_match, usage_table

router = APIRouter(prefix="/api", tags=["usage"], responses=errors())

_SINCE = Query(None, description="first day (UTC), inclusive")
_UNTIL = Query(None, description="last day (UTC), inclusive")


@router.get("/projects/{project_id}/token-usage", response_model=UsageReport,
            responses=errors(404))
async def token_usage(project_id: str, tenant: TenantDep, since: date | None = _SINCE,
                      until: date | None = _UNTIL) -> UsageReport:
    """Totals and breakdowns by session, model, day, week, month, 5-hour block, and by day
    and model (UTC)."""
    start, end = day_range(since, until)
    return await project_usage(tenant_id=tenant, project_id=project_id, since=start, until=end)


@router.get("/usage", response_model=UsageTable, responses=errors(404))
async def usage(
    tenant: TenantDep,
    by: Grouping = Query(Grouping.DAY, description="how to group the turns"),
    project_id: str | None = Query(None, description="only this project"),
    since: date | None = _SINCE,
    until: date | None = _UNTIL,
) -> UsageTable:
    """The tenant's usage grouped by day, week, month, session, model, 5-hour block or
    project, with the total (what `wxrunner usage report` prints)."""
    project = None if project_id is None else (
        await get_project(tenant_id=tenant, project_id=project_id)).id
    start, end = day_range(since, until)
    match = usage_match(tenant_id=tenant, project_id=project, since=start, until=end)
    return await usage_table(match, by)
