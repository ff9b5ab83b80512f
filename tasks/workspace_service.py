"""The workspace service of a worker process (DESIGN §12): serves the API's workspace
requests for the tenants of this host (app/services/workspace_rpc.py) with this host's
executor, which holds their containers."""

from __future__ import annotations

from collections.abc import AsyncIterator

from app.errors import BadRequest
from app.services.workspace_rpc import Answer, WorkspaceRequest, serve_workspace
from app.workspace import UploadResult, WorkspaceOp
from tasks.runtime import Clients
from workers.workspace import (
    Workspace,
    changes_of,
    list_tree,
    read_file,
    revert_to_before,
    snapshot,
    zip_of,
)

__all__ = ["WorkspaceOps", "serve"]


class WorkspaceOps:
    """One request at a time of the WorkspaceHandler protocol."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients

    async def handle(self, request: WorkspaceRequest,
                     upload: AsyncIterator[bytes] | None) -> Answer:
        settings = self.clients.settings
        ws = Workspace(self.clients.executor, request.tenant_id, request.project_id)
        args = request.args
        match request.op:
            case WorkspaceOp.LIST:
                return await list_tree(ws, str(args.get("path", "")),
                                       max_entries=settings.workspace_list_max_entries)
            case WorkspaceOp.READ:
                return await read_file(ws, str(args.get("path", "")),
                                       max_bytes=settings.workspace_view_max_bytes)
            case WorkspaceOp.ARCHIVE:
                return zip_of(ws, str(args.get("path", "")))
            case WorkspaceOp.UPLOAD:
                if upload is None:
                    raise BadRequest("an upload without its bytes")
                await ws.executor.put_archive(ws.tenant_id, ws.project_id, upload)
                commit = await snapshot(ws, f"upload {str(args.get('name', ''))[:200]}")
                return UploadResult(files=0, bytes=0, commit=commit)
            case WorkspaceOp.CHANGES:
                return await changes_of(ws, str(args["job_id"]),
                                        max_bytes=settings.workspace_diff_max_bytes,
                                        max_file_bytes=settings.workspace_diff_file_max_bytes)
            case WorkspaceOp.REVERT:
                return await revert_to_before(ws, str(args["job_id"]))
        raise BadRequest(f"unknown workspace operation {request.op!r}")


async def serve(clients: Clients) -> None:
    """Serve this host's workspace requests until cancelled."""
    settings = clients.settings
    await serve_workspace(clients.redis, settings.worker_host, WorkspaceOps(clients),
                          concurrency=settings.workspace_concurrency,
                          timeout_s=settings.workspace_timeout_s)
