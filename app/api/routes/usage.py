"""Token usage of a project."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import TenantDep
from app.api.routes._responses import errors
from app.api.schemas import UsageReport
from app.services.usage import project_usage

router = APIRouter(prefix="/api", tags=["usage"], responses=errors())


@router.get("/projects/{project_id}/token-usage", response_model=UsageReport,
            responses=errors(404))
async def token_usage(project_id: str, tenant: TenantDep) -> UsageReport:
    """Totals and breakdowns by session, model and day (UTC)."""
    return await project_usage(tenant_id=tenant, project_id=project_id)
