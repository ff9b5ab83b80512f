"""Start a session's turns one at a time, in order (DESIGN §3).

Under a Redis lock per session: if a turn of the session is running or already sent
to Celery, do nothing (it dispatches the next one when it ends); else send the oldest
queued turn. The API calls this after queuing a job; the worker (and the reaper) call
it after a job ends. Since both sides take the lock and the worker ends its job
before it dispatches, a turn queued while another ends is never forgotten: whichever
of the two runs second sees the other's write.

A turn goes to the queue of the host that holds its tenant's container (see
app/services/hosts.py); `redispatch_from_dead_hosts` sends again the turns that sat,
unclaimed, on the queue of a host that is gone."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from beanie import PydanticObjectId
from redis.asyncio import Redis

from app.models import Job
from app.protocol import utc_now
from app.services.hosts import alive_hosts, route_queue, split_host_queue
from app.services.job_lifecycle import next_queued_job
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["dispatch_job", "dispatch_next", "redispatch_from_dead_hosts"]

_LOCK_TIMEOUT_S = 15.0


async def dispatch_job(
    job: Job,
    *,
    redis: Redis | None = None,
    celery: Celery | None = None,
    settings: Settings | None = None,
) -> str | None:
    """After `job` was queued: start it now if its session is idle. Returns the job id sent."""
    return await dispatch_next(job.session_id, redis=redis, celery=celery, settings=settings)


async def dispatch_next(
    session_id: PydanticObjectId,
    *,
    redis: Redis | None = None,
    celery: Celery | None = None,
    settings: Settings | None = None,
) -> str | None:
    """Send the oldest queued turn of the session unless one is running or sent."""
    settings = settings or get_settings()
    own_redis = redis is None
    client = redis or Redis.from_url(settings.redis_url)
    try:
        lock = client.lock(f"wx:session:{session_id}:dispatch", timeout=_LOCK_TIMEOUT_S,
                           blocking_timeout=_LOCK_TIMEOUT_S)
        async with lock:
            job = await _claim_next(session_id)
        if job is None:
            return None
        try:
            await _send(job, client, celery or _default_celery(settings), settings)
        except BaseException:
            # Not sent: unmark it, so the next dispatch of the session sends it.
            await Job.get_pymongo_collection().update_one(
                {"_id": job.id, "state": "queued"},
                {"$set": {"dispatched_at": None, "routed_queue": None}})
            raise
        return str(job.id)
    finally:
        if own_redis:
            await client.aclose()


async def _claim_next(session_id: PydanticObjectId) -> Job | None:
    busy = await Job.find_one({
        "session_id": session_id,
        "$or": [{"state": "running"}, {"state": "queued", "dispatched_at": {"$ne": None}}],
    })
    if busy is not None:
        return None
    job = await next_queued_job(session_id)
    if job is None:
        return None
    result = await Job.get_pymongo_collection().update_one(
        {"_id": job.id, "state": "queued", "dispatched_at": None},
        {"$set": {"dispatched_at": utc_now()}},
    )
    return job if result.modified_count else None


async def _send(job: Job, redis: Redis, celery: Celery, settings: Settings) -> None:
    # Sent outside the lock: marking the job dispatched under the lock is what
    # serialises the session; the broker round trip need not hold it.
    from tasks.celery_app import CHAT_TURN_TASK, time_limits

    routed = await route_queue(redis, job.queue, job.tenant_id)
    await Job.get_pymongo_collection().update_one(
        {"_id": job.id}, {"$set": {"routed_queue": routed}})
    soft, hard = time_limits(settings, job.queue)
    await asyncio.to_thread(
        celery.send_task, CHAT_TURN_TASK, args=[str(job.id)], queue=routed,
        soft_time_limit=soft, time_limit=hard,
    )


async def redispatch_from_dead_hosts(
    *, redis: Redis, celery: Celery | None = None, settings: Settings | None = None
) -> list[str]:
    """Send again the queued turns routed to a host that is gone; their job ids.

    Their messages stay on the dead host's queue; if it comes back and delivers one,
    the claim fails (the job is running or over) and nothing runs twice."""
    settings = settings or get_settings()
    serving = {(q, h.host) for h in await alive_hosts(redis) for q in h.queues}
    stranded = await Job.find({"state": "queued", "dispatched_at": {"$ne": None},
                               "routed_queue": {"$ne": None}}).to_list()
    resent = []
    for job in stranded:
        queue, host = split_host_queue(job.routed_queue or "")
        if host is None or (queue, host) in serving:
            continue
        result = await Job.get_pymongo_collection().update_one(
            {"_id": job.id, "state": "queued", "routed_queue": job.routed_queue},
            {"$set": {"dispatched_at": None, "routed_queue": None}})
        if result.modified_count and await dispatch_next(
                job.session_id, redis=redis, celery=celery, settings=settings):
            resent.append(str(job.id))
    return resent


_CELERY_APPS: dict[str, Celery] = {}


def _default_celery(settings: Settings) -> Celery:
    from tasks.celery_app import make_celery

    if settings.redis_url not in _CELERY_APPS:
        _CELERY_APPS[settings.redis_url] = make_celery(settings)
    return _CELERY_APPS[settings.redis_url]
