"""Projects of a tenant."""

from __future__ import annotations

from app.errors import NotFound
from app.models import Project
from app.services.ids import parse_id

__all__ = ["create_project", "get_project", "list_projects"]


async def create_project(*, tenant_id: str, name: str) -> Project:
    """A new project of `tenant_id`."""
    return await Project(tenant_id=tenant_id, name=name).insert()


async def list_projects(*, tenant_id: str, limit: int = 200) -> list[Project]:
    """The tenant's projects, oldest first."""
    query = Project.find(Project.tenant_id == tenant_id)
    return await query.sort("+created_at").limit(limit).to_list()


async def get_project(*, tenant_id: str, project_id: str) -> Project:
    """The tenant's project, or `NotFound` (also for another tenant's project)."""
    project = await Project.find_one(
        Project.id == parse_id(project_id, "Project"), Project.tenant_id == tenant_id
    )
    if project is None:
        raise NotFound("Project")
    return project
