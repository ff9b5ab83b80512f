"""Chat sessions and their messages."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import TenantDep
from app.api.routes._responses import errors
from app.api.schemas import MessagePublic, SessionPublic
from app.services import sessions

router = APIRouter(prefix="/api", tags=["sessions"], responses=errors(404))


@router.get("/projects/{project_id}/sessions", response_model=list[SessionPublic])
async def list_sessions(project_id: str, tenant: TenantDep) -> list[SessionPublic]:
    """The project's sessions, most recently active first."""
    found = await sessions.list_sessions(tenant_id=tenant, project_id=project_id)
    return [SessionPublic.of(s) for s in found]


@router.get("/sessions/{session_id}/messages", response_model=list[MessagePublic])
async def list_messages(session_id: str, tenant: TenantDep) -> list[MessagePublic]:
    """The session's messages, oldest first (assistant text as sanitized)."""
    found = await sessions.list_messages(tenant_id=tenant, session_id=session_id)
    return [MessagePublic.of(m) for m in found]
