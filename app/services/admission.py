"""Admitting and queuing turns against a tenant's limits (DESIGN §3 step 2, §9), in batches.

Two turns of a tenant submitted at once must not both pass its limits, so admission holds
the tenant's Redis lock while it counts the active turns and inserts the new job. A burst
of submissions (a hundred users of one tenant at once) would queue on that lock one by one;
instead, in each API process the submissions waiting for a tenant form a batch, and one of
them admits the whole batch under one lock: one count, one insert of the new sessions, one
of the jobs, each submission checked in its arrival order against the use so far. The batch
then goes on together: one insert of the user messages, one publish of the `job_queued`
frames, and the first turns of new sessions chosen and sent in one step."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from beanie import PydanticObjectId
from redis.asyncio import Redis

from app.errors import LimitExceeded
from app.events import EventPublisher
from app.keys import submit_lock
from app.models import ChatMessage, ChatSession, Job, Project
from app.protocol import JobQueuedFrame, utc_now
from app.services.dispatch import dispatch_first_turns, dispatch_next
from app.services.limits import check_limits, current_use, effective_limits
from app.services.ports import TaskSender
from app.settings import Settings
from app.vocab import Context, queue_for

__all__ = ["Admissions", "Admitted", "TurnRequest"]

log = logging.getLogger("wx.admission")


@dataclass(frozen=True)
class Admitted:
    job: Job
    session: ChatSession
    position: int  # turns ahead of it in its session


@dataclass(eq=False)
class TurnRequest:
    """One submission waiting for admission."""

    tenant_id: str
    project: Project
    session: ChatSession | None  # None: the turn starts a new session
    context: Context
    content: str
    outcome: asyncio.Future[Admitted] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())


class Admissions:
    """The submissions of one process waiting for admission, by tenant."""

    def __init__(self, settings: Settings, redis: Redis, publisher: EventPublisher,
                 sender: TaskSender) -> None:
        self._settings = settings
        self._redis = redis
        self._publisher = publisher
        self._sender = sender
        self._waiting: dict[str, list[TurnRequest]] = {}
        self._leaders: dict[str, asyncio.Task[None]] = {}

    async def admit(self, request: TurnRequest) -> Admitted:
        """The admitted job, or `LimitExceeded`."""
        tenant = request.tenant_id
        self._waiting.setdefault(tenant, []).append(request)
        if tenant not in self._leaders:
            self._leaders[tenant] = asyncio.create_task(self._lead(tenant),
                                                        name=f"admit-{tenant}")
        return await request.outcome

    async def _lead(self, tenant: str) -> None:
        try:
            while batch := self._waiting.pop(tenant, []):
                try:
                    await self._admit_batch(tenant, [r for r in batch if not r.outcome.done()])
                except Exception as exc:
                    for request in batch:
                        if not request.outcome.done():
                            request.outcome.set_exception(exc)
        finally:
            del self._leaders[tenant]

    async def _admit_batch(self, tenant: str, batch: list[TurnRequest]) -> None:
        if not batch:
            return
        settings = self._settings
        limits = await effective_limits(settings, tenant_id=tenant, recent=True)
        lock = self._redis.lock(submit_lock(tenant), timeout=30, blocking_timeout=30, sleep=0.01)
        async with lock:
            now = utc_now()
            use = await current_use(tenant_id=tenant, now=now, recent=True)
            admitted: list[tuple[TurnRequest, Admitted]] = []
            for request in batch:
                sid = str(request.session.id) if request.session else None
                try:
                    admission = check_limits(limits, use, session_id=sid, now=now,
                                             retry_after_s=settings.limit_retry_after_s)
                except LimitExceeded as refused:
                    request.outcome.set_exception(refused)
                    continue
                session = request.session or ChatSession(
                    id=PydanticObjectId(), tenant_id=tenant, project_id=request.project.id,
                    context=request.context, title=request.content[:80])
                job = Job(id=PydanticObjectId(), tenant_id=tenant,
                          project_id=request.project.id, session_id=session.id,
                          context=request.context, queue=queue_for(request.context),
                          prompt=request.content, max_budget_usd=admission.remaining_budget_usd)
                position = use.active_turns_of(str(session.id))
                use.count_queued(str(session.id))
                admitted.append((request, Admitted(job, session, position)))
            new_sessions = [a.session for r, a in admitted if r.session is None]
            if new_sessions:
                await ChatSession.insert_many(new_sessions)
            if admitted:
                await Job.insert_many([a.job for _r, a in admitted])
        if len(batch) > 1:
            log.info("tenant %s: admitted %d of %d turns in one batch", tenant, len(admitted),
                     len(batch))
        if admitted:
            await self._queue(admitted)
        for request, outcome in admitted:
            if not request.outcome.done():
                request.outcome.set_result(outcome)

    async def _queue(self, admitted: list[tuple[TurnRequest, Admitted]]) -> None:
        """The admitted turns' messages, `job_queued` frames and dispatch."""
        await asyncio.gather(self._record(admitted), *(self._publisher.publish(
            str(a.job.id), [JobQueuedFrame(job_id=str(a.job.id), session_id=str(a.session.id),
                                           position=a.position)])
            for _r, a in admitted))
        # sent once queued (job_queued comes before the worker's job_started)
        firsts = [a.job for _r, a in admitted if a.position == 0]
        behind = {a.job.session_id for _r, a in admitted if a.position > 0}
        await dispatch_first_turns(firsts, redis=self._redis, sender=self._sender,
                                   settings=self._settings)
        await asyncio.gather(*(dispatch_next(session_id, redis=self._redis, sender=self._sender,
                                             settings=self._settings) for session_id in behind))

    @staticmethod
    async def _record(admitted: list[tuple[TurnRequest, Admitted]]) -> None:
        """The users' messages, and the resumed sessions marked active."""
        now = utc_now()
        await ChatMessage.insert_many([
            ChatMessage(tenant_id=r.tenant_id, session_id=a.session.id, role="user",
                        content=r.content, job_id=a.job.id, created_at=now)
            for r, a in admitted])
        resumed = [r.session.id for r, _a in admitted if r.session is not None]
        if resumed:
            await ChatSession.get_pymongo_collection().update_many(
                {"_id": {"$in": resumed}}, {"$set": {"last_active_at": now}})
