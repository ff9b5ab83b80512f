"""Submitting a chat turn (DESIGN §3 step 2): guardrail, limits, session, Job, job_queued,
dispatch. Shared by the WebSocket and the REST fallback."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from app.errors import InputBlocked, NotFound
from app.guardrail import Guardrail
from app.keys import submit_lock
from app.models import ChatMessage, ChatSession, Job, SecurityEvent
from app.protocol import JobQueuedFrame, utc_now
from app.services.dispatch import dispatch_next
from app.services.ids import parse_id
from app.services.limits import check_limits, current_use, effective_limits
from app.services.projects import get_project
from app.services.turn_lifecycle import TurnDeps
from app.settings import Settings
from app.vocab import ACTIVE_STATES, Context, queue_for

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
) -> SubmittedTurn:
    """Validate, admit and queue one turn; raises InputBlocked, LimitExceeded, NotFound."""
    settings, redis = deps.settings, deps.redis
    project = await get_project(tenant_id=tenant_id, project_id=project_id)
    await _validate_input(
        settings, tenant_id=tenant_id, subject=subject, project_id=project_id, content=content
    )
    # One submission per tenant at a time, so two racing turns cannot both pass the limits.
    async with redis.lock(submit_lock(tenant_id), timeout=30, blocking_timeout=30):
        session = await _find_session(tenant_id=tenant_id, project_id=project_id,
                                      session_id=session_id)
        now = utc_now()
        admission = check_limits(
            await effective_limits(settings, tenant_id=tenant_id),
            await current_use(tenant_id=tenant_id, now=now),
            session_id=str(session.id) if session else None,
            now=now,
            retry_after_s=settings.limit_retry_after_s,
        )
        if session is None:
            session = await ChatSession(
                tenant_id=tenant_id, project_id=project.id, context=context, title=content[:80]
            ).insert()
        position = await Job.find(
            {"session_id": session.id, "state": {"$in": list(ACTIVE_STATES)}}
        ).count()
        job = await Job(
            tenant_id=tenant_id,
            project_id=project.id,
            session_id=session.id,
            context=context,
            queue=queue_for(context),
            prompt=content,
            max_budget_usd=admission.remaining_budget_usd,
        ).insert()
    await ChatMessage(
        tenant_id=tenant_id, session_id=session.id, role="user", content=content, job_id=job.id
    ).insert()
    await session.set({"last_active_at": now})
    await deps.publisher.publish(
        str(job.id), [JobQueuedFrame(job_id=str(job.id), session_id=str(session.id),
                                     position=position)]
    )
    await dispatch_next(job.session_id, redis=redis, sender=deps.sender, settings=settings)
    return SubmittedTurn(job=job, session=session, position=position)


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
