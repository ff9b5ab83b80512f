"""Chat sessions of a project and their messages."""

from __future__ import annotations

from app.errors import NotFound
from app.models import ChatMessage, ChatSession
from app.services.ids import parse_id
from app.services.projects import get_project

__all__ = ["get_session", "list_messages", "list_sessions"]


async def list_sessions(*, tenant_id: str, project_id: str, limit: int = 100) -> list[ChatSession]:
    """The project's sessions, most recently active first."""
    project = await get_project(tenant_id=tenant_id, project_id=project_id)
    return (
        await ChatSession.find(ChatSession.tenant_id == tenant_id,
                               ChatSession.project_id == project.id)
        .sort("-last_active_at").limit(limit).to_list()
    )


async def get_session(*, tenant_id: str, session_id: str) -> ChatSession:
    """The tenant's session, or `NotFound`."""
    session = await ChatSession.find_one(
        ChatSession.id == parse_id(session_id, "Session"), ChatSession.tenant_id == tenant_id
    )
    if session is None:
        raise NotFound("Session")
    return session


async def list_messages(*, tenant_id: str, session_id: str, limit: int = 500) -> list[ChatMessage]:
    """The session's messages, oldest first."""
    session = await get_session(tenant_id=tenant_id, session_id=session_id)
    return (
        await ChatMessage.find(ChatMessage.session_id == session.id,
                               ChatMessage.tenant_id == tenant_id)
        .sort("+created_at").limit(limit).to_list()
    )
