"""A tenant's workspace for the API (DESIGN §12): checks that the project or job is the
tenant's (404 otherwise), then has the workspace service of the tenant's worker host do the
work (app/services/workspace_rpc.py)."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

from beanie import PydanticObjectId
from redis.asyncio import Redis

from app.errors import Conflict, Unavailable
from app.models import Job
from app.services.hosts import tenant_host
from app.services.jobs import get_job
from app.services.projects import get_project
from app.services.workspace_rpc import WorkspaceClient, WorkspaceRequest
from app.settings import Settings
from app.vocab import JobState
from app.workspace import (
    FileContent,
    FileTree,
    RevertResult,
    TurnChanges,
    UploadResult,
    WorkspaceOp,
)

__all__ = ["Workspaces"]


@dataclass
class Workspaces:
    """The API's way into workspaces (one per API process)."""

    settings: Settings
    redis: Redis

    @property
    def client(self) -> WorkspaceClient:
        return WorkspaceClient(self.redis, timeout_s=self.settings.workspace_timeout_s)

    async def list_files(self, *, tenant_id: str, project_id: str, path: str) -> FileTree:
        await get_project(tenant_id=tenant_id, project_id=project_id)
        result = await self._call(tenant_id, project_id, WorkspaceOp.LIST, path=path)
        return FileTree.model_validate(result)

    async def read_file(self, *, tenant_id: str, project_id: str, path: str) -> FileContent:
        await get_project(tenant_id=tenant_id, project_id=project_id)
        result = await self._call(tenant_id, project_id, WorkspaceOp.READ, path=path)
        return FileContent.model_validate(result)

    async def archive(self, *, tenant_id: str, project_id: str,
                      path: str) -> AsyncIterator[bytes]:
        """The zip's chunks; a refusal (a path not found) is raised before the first."""
        await get_project(tenant_id=tenant_id, project_id=project_id)
        host = await self._host(tenant_id)
        return await self.client.stream(host, WorkspaceRequest(
            op=WorkspaceOp.ARCHIVE, tenant_id=tenant_id, project_id=project_id,
            args={"path": path}))

    async def check_upload(self, *, tenant_id: str, project_id: str) -> None:
        """Refuse early: not the tenant's project, or a turn of it is running."""
        project = await get_project(tenant_id=tenant_id, project_id=project_id)
        await _no_running_turn(project.id)

    async def upload(self, *, tenant_id: str, project_id: str, name: str,
                     tar: AsyncIterable[bytes]) -> UploadResult:
        """Write a checked tar stream (app/uploads.py) into the project and commit it."""
        await self.check_upload(tenant_id=tenant_id, project_id=project_id)
        host = await self._host(tenant_id)
        result = await self.client.call(host, WorkspaceRequest(
            op=WorkspaceOp.UPLOAD, tenant_id=tenant_id, project_id=project_id,
            args={"name": name}), upload=tar)
        return UploadResult.model_validate(result)

    async def changes(self, *, tenant_id: str, job_id: str) -> TurnChanges:
        job = await _ended_job(tenant_id, job_id)
        result = await self._call(tenant_id, str(job.project_id), WorkspaceOp.CHANGES,
                                  job_id=job_id)
        return TurnChanges.model_validate(result)

    async def revert(self, *, tenant_id: str, job_id: str) -> RevertResult:
        job = await _ended_job(tenant_id, job_id)
        await _no_running_turn(job.project_id)
        result = await self._call(tenant_id, str(job.project_id), WorkspaceOp.REVERT,
                                  job_id=job_id)
        return RevertResult.model_validate(result)

    async def _call(self, tenant_id: str, project_id: str, op: WorkspaceOp,
                    **args: Any) -> dict[str, Any]:
        host = await self._host(tenant_id)
        return await self.client.call(host, WorkspaceRequest(
            op=op, tenant_id=tenant_id, project_id=project_id, args=args))

    async def _host(self, tenant_id: str) -> str:
        host = await tenant_host(self.redis, tenant_id)
        if host is None:
            raise Unavailable("No worker host is running: the workspace cannot be reached.")
        return host


async def _ended_job(tenant_id: str, job_id: str) -> Job:
    job = await get_job(tenant_id=tenant_id, job_id=job_id)
    if not job.is_terminal:
        raise Conflict("The turn has not ended yet.", state=str(job.state))
    return job


async def _no_running_turn(project_id: PydanticObjectId | None) -> None:
    running = await Job.find_one({"project_id": project_id, "state": JobState.RUNNING})
    if running is not None:
        raise Conflict("A turn of this project is running: try again when it has ended.",
                       job_id=str(running.id))
