"""Helpers of the turn tests: queue a turn straight into Mongo (as the API does) and
read a job's frames back from its Redis Stream."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from redis.asyncio import Redis

from app.events import EventPublisher, read_events
from app.models import ChatMessage, ChatSession, Job, Project
from app.protocol import JobQueuedFrame, is_terminal
from app.services.dispatch import dispatch_next
from app.settings import Settings
from app.taskqueue import CelerySender, make_celery
from app.vocab import Context, queue_for


async def new_session(tenant: str, context: Context = Context.ANALYSIS) -> ChatSession:
    project = await Project(tenant_id=tenant, name="p").insert()
    return await ChatSession(tenant_id=tenant, project_id=project.id, context=context).insert()


_SENDERS: dict[str, CelerySender] = {}


def sender_for(settings: Settings) -> CelerySender:
    """A task sender on the settings' broker (one per broker for the test session)."""
    if settings.redis_url not in _SENDERS:
        _SENDERS[settings.redis_url] = CelerySender(make_celery(settings))
    return _SENDERS[settings.redis_url]


async def queue_turn(
    settings: Settings, redis: Redis, session: ChatSession, prompt: str,
    context: Context = Context.ANALYSIS,
) -> Job:
    """What the API's submit_turn does after its checks: message, job, job_queued, dispatch."""
    job = await Job(tenant_id=session.tenant_id, project_id=session.project_id,
                    session_id=session.id, context=context, queue=queue_for(context),
                    prompt=prompt).insert()
    await ChatMessage(tenant_id=session.tenant_id, session_id=session.id, role="user",
                      content=prompt, job_id=job.id).insert()
    publisher = EventPublisher(redis, maxlen=settings.stream_maxlen, ttl_s=settings.stream_ttl_s)
    await publisher.publish(str(job.id), [JobQueuedFrame(job_id=str(job.id),
                                                         session_id=str(session.id), position=0)])
    await dispatch_next(job.session_id, redis=redis, sender=sender_for(settings),
                        settings=settings)
    return job


async def frames_until_terminal(
    redis: Redis, job_id: str, *, timeout: float = 60.0, after_seq: int = 0
) -> list[dict[str, Any]]:
    """All frames of a job up to its terminal frame (fails after `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frames = [orjson.loads(raw) for raw in await read_events(redis, job_id,
                                                                  after_seq=after_seq)]
        if frames and is_terminal(frames[-1]["type"]):
            return frames
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id}: no terminal frame after {timeout}s: {frames}")


async def wait_for_frame(redis: Redis, job_id: str, type_: str, timeout: float = 30.0) -> int:
    """Seq of the first frame of `type_` (waits for it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for raw in await read_events(redis, job_id):
            frame = orjson.loads(raw)
            if frame["type"] == type_:
                return int(frame["seq"])
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job_id}: no {type_} frame after {timeout}s")
