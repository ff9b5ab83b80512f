"""Submitting a chat turn (DESIGN §3 step 2): guardrail, limits, session, Job, job_queued,
dispatch. Shared by the WebSocket and the REST fallback."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from app.errors import InputBlocked, NoCredentials, NotFound
from app.guardrail import Guardrail
from app.models import ChatSession, Job, Project, SecurityEvent
from app.services.admission import TurnRequest
from app.services.credentials import has_credential_for_turn
from app.services.ids import parse_id
from app.services.projects import get_project
from app.services.turn_lifecycle import TurnDeps
from app.settings import Settings
from app.vocab import Context

__all__ = ["SubmittedTurn", "submit_turn"]


@dataclass(frozen=True)
class SubmittedTurn:
    job: Job
    session: ChatSession
    position: int


async def submit_turn(
    deps: TurnDeps,
    *,
    tenant_id: str,
    subject: str,
    project_id: str,
    content: str,
    context: Context,
    session_id: str | None,
    project: Project | None = None,
) -> SubmittedTurn:
    """Validate, admit and queue one turn; raises InputBlocked, LimitExceeded, NotFound,
    NoCredentials.
    `project`: the tenant's project, when the caller has already looked it up."""
    settings = deps.settings
    assert deps.admissions is not None, "submitting needs the API's admissions"
    project = project or await get_project(tenant_id=tenant_id, project_id=project_id)
    if not await has_credential_for_turn(settings, tenant_id=tenant_id):
        raise NoCredentials()
    await _validate_input(
        settings, tenant_id=tenant_id, subject=subject, project_id=project_id, content=content
    )
    session = await _find_session(tenant_id=tenant_id, project_id=project_id,
                                  session_id=session_id)
    admitted = await deps.admissions.admit(TurnRequest(
        tenant_id=tenant_id, project=project, session=session, context=context,
        content=content))
    return SubmittedTurn(job=admitted.job, session=admitted.session,
                         position=admitted.position)


async def _validate_input(
    settings: Settings, *, tenant_id: str, subject: str, project_id: str, content: str
) -> None:
    """Guardrail; a block is stored as a SecurityEvent with the input's hash, never the input."""
    try:
        Guardrail(settings).validate_input(content)
    except InputBlocked as blocked:
        await SecurityEvent(
            tenant_id=tenant_id,
            subject=subject,
            rule=blocked.rule,
            input_sha256=hashlib.sha256(content.encode()).hexdigest(),
            project_id=project_id,
        ).insert()
        raise


async def _find_session(
    *, tenant_id: str, project_id: str, session_id: str | None
) -> ChatSession | None:
    if session_id is None:
        return None
    session = await ChatSession.find_one(
        ChatSession.id == parse_id(session_id, "Session"),
        ChatSession.tenant_id == tenant_id,
        ChatSession.project_id == parse_id(project_id, "Project"),
    )
    if session is None:
        raise NotFound("Session")
    return session
