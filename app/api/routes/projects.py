"""Projects of the caller's tenant."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import TenantDep
from app.api.routes._responses import errors
from app.api.schemas import ProjectCreate, ProjectPublic
from app.services import projects

router = APIRouter(prefix="/api/projects", tags=["projects"], responses=errors())


@router.post("", status_code=201, response_model=ProjectPublic)
async def create_project(body: ProjectCreate, tenant: TenantDep) -> ProjectPublic:
    """Create a project."""
    return ProjectPublic.of(await projects.create_project(tenant_id=tenant, name=body.name))


@router.get("", response_model=list[ProjectPublic])
async def list_projects(tenant: TenantDep) -> list[ProjectPublic]:
    """The tenant's projects."""
    return [ProjectPublic.of(p) for p in await projects.list_projects(tenant_id=tenant)]


@router.get("/{project_id}", response_model=ProjectPublic, responses=errors(404))
async def get_project(project_id: str, tenant: TenantDep) -> ProjectPublic:
    """One project."""
    return ProjectPublic.of(await projects.get_project(tenant_id=tenant, project_id=project_id))
