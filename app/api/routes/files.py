"""A project's workspace: upload, browse, read, download (DESIGN §12)."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from app.api.deps import SettingsDep, TenantDep, WorkspacesDep
from app.api.routes._responses import errors
from app.api.uploads import in_thread, receive_upload
from app.services.projects import get_project
from app.uploads import UploadLimits, plan_upload
from app.workspace import FileContent, FileTree, UploadResult

router = APIRouter(prefix="/api/projects/{project_id}", tags=["files"],
                   responses=errors(404, 503))

_UPLOAD_BODY = {
    "required": True,
    "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary",
                     "description": "a .zip, .tar, .tar.gz/.tgz (unpacked), or any other file"},
            "path": {"type": "string", "description": "where a single file goes (default: its "
                     "name), or the folder an archive is unpacked into (default: the project's)"},
        }}}},
}
_PathQuery = Annotated[str, Query(max_length=4096, description="a folder of the project "
                                                              "(default: all of it)")]


@router.post("/files", status_code=201, response_model=UploadResult,
             responses=errors(404, 409, 503), openapi_extra={"requestBody": _UPLOAD_BODY})
async def upload_files(project_id: str, request: Request, tenant: TenantDep,
                       workspaces: WorkspacesDep, settings: SettingsDep) -> UploadResult:
    """Upload a project (an archive, unpacked) or one file into the workspace; committed."""
    await workspaces.check_upload(tenant_id=tenant, project_id=project_id)
    limits = UploadLimits(max_unpacked_bytes=settings.upload_max_unpacked_bytes,
                          max_files=settings.upload_max_files,
                          max_path_length=settings.upload_max_path_length)
    async with receive_upload(request, spool_dir=settings.data_dir / "uploads",
                              max_bytes=settings.upload_max_bytes) as received:
        plan = await asyncio.to_thread(plan_upload, received.path, filename=received.filename,
                                       target=received.target, limits=limits)
        result = await workspaces.upload(tenant_id=tenant, project_id=project_id,
                                         name=received.filename, tar=in_thread(plan.tar_chunks()))
    return UploadResult(files=plan.files, bytes=plan.total_bytes, commit=result.commit)


@router.get("/files", response_model=FileTree)
async def list_files(project_id: str, tenant: TenantDep, workspaces: WorkspacesDep,
                     path: _PathQuery = "") -> FileTree:
    """The files and folders of the workspace (or of a folder), with sizes."""
    return await workspaces.list_files(tenant_id=tenant, project_id=project_id, path=path)


@router.get("/files/{path:path}", response_model=FileContent)
async def read_file(project_id: str, path: str, tenant: TenantDep,
                    workspaces: WorkspacesDep) -> FileContent:
    """A file's content for display (size-limited; text decoded, binary detected)."""
    return await workspaces.read_file(tenant_id=tenant, project_id=project_id, path=path)


@router.get("/archive", response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}},
                             "description": "a zip of the workspace (or of `path`), streamed"}})
async def download_archive(project_id: str, tenant: TenantDep, workspaces: WorkspacesDep,
                           path: _PathQuery = "") -> StreamingResponse:
    """The workspace (or a folder of it) as a zip, streamed."""
    project = await get_project(tenant_id=tenant, project_id=project_id)
    chunks = await workspaces.archive(tenant_id=tenant, project_id=project_id, path=path)
    name = (path.strip("/").rsplit("/", 1)[-1] or project.name) + ".zip"
    return StreamingResponse(chunks, media_type="application/zip",
                             headers={"Content-Disposition": _attachment(name)})


def _attachment(name: str) -> str:
    plain = re.sub(r"[^A-Za-z0-9._ -]", "_", name) or "workspace.zip"
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name)}"
