"""Submitting a chat turn (DESIGN §3 step 2): guardrail, limits, session, Job, job_queued,
dispatch. Shared by the WebSocket and the REST fallback."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from redis.asyncio import Redis

from app.errors import InputBlocked, NotFound
from app.guardrail import Guardrail
from app.keys import submit_lock
from app.models import ChatMessage, ChatSession, Job, Project, SecurityEvent
from app.protocol import JobQueuedFrame, utc_now
from app.services.dispatch import dispatch_next
from app.services.ids import parse_id
from app.services.limits import check_limits, current_use, effective_limits
from app.services.projects import get_project
from app.services.turn_lifecycle import TurnDeps
from app.settings import Settings
from app.vocab import Context, queue_for

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
    """Validate, admit and queue one turn; raises InputBlocked, LimitExceeded, NotFound.
    `project`: the tenant's project, when the caller has already looked it up."""
    settings, redis = deps.settings, deps.redis
    project = project or await get_project(tenant_id=tenant_id, project_id=project_id)
    await _validate_input(
        settings, tenant_id=tenant_id, subject=subject, project_id=project_id, content=content
    )
    session = await _find_session(tenant_id=tenant_id, project_id=project_id,
                                  session_id=session_id)
    limits = await effective_limits(settings, tenant_id=tenant_id)
    now = utc_now()
    created = session is None
    async with admission_lock(redis, tenant_id):
        # Inside: only what two racing submissions must not both pass (the active turns).
        use = await current_use(tenant_id=tenant_id, now=now, recent=True)
        admission = check_limits(limits, use, session_id=str(session.id) if session else None,
                                 now=now, retry_after_s=settings.limit_retry_after_s)
        if session is None:
            session = ChatSession(tenant_id=tenant_id, project_id=project.id, context=context,
                                  title=content[:80])
            await session.insert()
        position = use.active_turns_of(str(session.id))
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
    if not created:
        await session.set({"last_active_at": now})
    await deps.publisher.publish(
        str(job.id), [JobQueuedFrame(job_id=str(job.id), session_id=str(session.id),
                                     position=position)]
    )
    await dispatch_next(job.session_id, redis=redis, sender=deps.sender, settings=settings,
                        only=job if position == 0 else None)
    return SubmittedTurn(job=job, session=session, position=position)


_LOCAL_LOCKS: dict[str, asyncio.Lock] = {}


@contextlib.asynccontextmanager
async def admission_lock(redis: Redis, tenant_id: str) -> AsyncIterator[None]:
    """One admission per tenant at a time, across API processes (a Redis lock); within one
    process the waiters queue on an asyncio lock, so only one of them polls Redis."""
    local = _LOCAL_LOCKS.setdefault(tenant_id, asyncio.Lock())
    async with local, redis.lock(submit_lock(tenant_id), timeout=30, blocking_timeout=30,
                                 sleep=0.01):
        yield


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
