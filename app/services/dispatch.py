"""Start a session's turns one at a time, in order (DESIGN §3).

Under a Redis lock per session: if a turn of the session is running or already chosen
(`dispatched_at`), do nothing (it dispatches the next one when it ends); else mark the
oldest queued turn dispatched and send it to the task queue. The API calls this after
queuing a job; whoever ends a turn calls it after. Since both take the lock and a turn's
end is written before its dispatch, a turn queued while another ends is never forgotten.

Sending can fail (the broker away, a process dying in between): `sweep_unsent` finds the
turns that were never sent, or whose session nobody dispatched, and dispatches them again;
the compare-and-set on `dispatched_at` under the lock means exactly one send wins, and a
duplicate delivery is harmless (the claim is atomic).

A turn goes to the queue of the host that holds its tenant's container (see
app/services/hosts.py); `redispatch_from_dead_hosts` sends again the turns that sat,
unclaimed, on the queue of a host that is gone."""

from __future__ import annotations

import logging
from datetime import timedelta

from beanie import PydanticObjectId
from redis.asyncio import Redis

from app.events import EventPublisher
from app.keys import dispatch_lock, sent_key
from app.models import Job
from app.protocol import utc_now
from app.services.hosts import alive_hosts, route_queue, split_host_queue
from app.services.ports import TaskSender
from app.services.queue_positions import publish_positions
from app.settings import Settings
from app.vocab import ACTIVE_STATES, JobState

__all__ = ["dispatch_first_turns", "dispatch_next", "redispatch_from_dead_hosts",
           "sweep_unsent"]

log = logging.getLogger("wx.dispatch")

_LOCK_TIMEOUT_S = 15.0


async def dispatch_next(
    session_id: PydanticObjectId, *, redis: Redis, sender: TaskSender, settings: Settings,
    positions_to: EventPublisher | None = None,
) -> str | None:
    """Send the oldest queued turn of the session unless one is running or chosen; the job
    id sent. A failed send is logged and left to `sweep_unsent`. With `positions_to` (a turn
    of the session ended), its waiting turns are told their new positions first."""
    lock = redis.lock(dispatch_lock(str(session_id)), timeout=_LOCK_TIMEOUT_S,
                      blocking_timeout=_LOCK_TIMEOUT_S)
    async with lock:
        active = await Job.find(
            {"session_id": session_id, "state": {"$in": list(ACTIVE_STATES)}}
        ).sort("+created_at", "+_id").to_list()
        if positions_to is not None:
            await publish_positions(positions_to, session_id, active)
        job = _next_of(active)
        if job is None:
            return None
        routed = await route_queue(redis, job.queue, job.tenant_id)
        if not await _choose(job, routed):
            return None
    sent = await _send(redis, sender, settings, [(job, routed)])
    return str(job.id) if sent else None


async def dispatch_first_turns(
    jobs: list[Job], *, redis: Redis, sender: TaskSender, settings: Settings
) -> list[str]:
    """Send the first turns of new sessions (nothing else of theirs can be active, so no
    session lock): chosen in one update per queue, sent together; the job ids sent."""
    chosen: list[tuple[Job, str]] = []
    for queue in {job.queue for job in jobs}:
        of_queue = [job for job in jobs if job.queue == queue]
        routed = await route_queue(redis, queue, of_queue[0].tenant_id)
        await Job.get_pymongo_collection().update_many(
            {"_id": {"$in": [job.id for job in of_queue]}, "state": JobState.QUEUED,
             "dispatched_at": None},
            {"$set": {"dispatched_at": utc_now(), "routed_queue": routed}})
        chosen += [(job, routed) for job in of_queue]
    return await _send(redis, sender, settings, chosen)


async def _send(redis: Redis, sender: TaskSender, settings: Settings,
                chosen: list[tuple[Job, str]]) -> list[str]:
    """Send the chosen turns; mark the sent ones, unmark the others (the sweep retries)."""
    if not chosen:
        return []
    results = await sender.send_turns([(str(job.id), routed) for job, routed in chosen])
    sent = []
    async with redis.pipeline(transaction=False) as marks:
        for (job, _routed), result in zip(chosen, results, strict=True):
            if result is not None:
                log.warning("job %s: not sent (%s); the sweep sends it again", job.id, result)
                await _unchoose(job)
            else:
                marks.set(sent_key(str(job.id)), b"1", ex=settings.stream_ttl_s)
                sent.append(str(job.id))
        await marks.execute()
    return sent


def _next_of(active: list[Job]) -> Job | None:
    """The oldest queued of a session's active turns, unless one is running or chosen."""
    if any(j.state == JobState.RUNNING or j.dispatched_at is not None for j in active):
        return None
    return next((j for j in active if not j.cancel_requested), None)


async def _choose(job: Job, routed: str) -> bool:
    chosen = await Job.get_pymongo_collection().update_one(
        {"_id": job.id, "state": JobState.QUEUED, "dispatched_at": None},
        {"$set": {"dispatched_at": utc_now(), "routed_queue": routed}},
    )
    return bool(chosen.modified_count)


async def _unchoose(job: Job) -> None:
    try:
        await Job.get_pymongo_collection().update_one(
            {"_id": job.id, "state": JobState.QUEUED},
            {"$set": {"dispatched_at": None, "routed_queue": None}})
    except Exception as exc:  # the sweep resets it after send_grace_s
        log.warning("job %s: cannot unmark it (%s)", job.id, exc)


async def sweep_unsent(*, redis: Redis, sender: TaskSender, settings: Settings) -> list[str]:
    """Dispatch again the turns that were chosen but never sent (older than send_grace_s;
    a sent turn has its mark in Redis), and the queued turns of sessions nobody dispatched;
    the job ids sent."""
    now = utc_now()
    grace = timedelta(seconds=settings.send_grace_s)
    collection = Job.get_pymongo_collection()
    chosen = await Job.find({"state": JobState.QUEUED,
                             "dispatched_at": {"$lt": now - grace}}).to_list()
    for job in chosen:
        if not await redis.exists(sent_key(str(job.id))):
            await collection.update_one(
                {"_id": job.id, "state": JobState.QUEUED, "dispatched_at": job.dispatched_at},
                {"$set": {"dispatched_at": None, "routed_queue": None}})
    waiting = await Job.find(
        {"state": JobState.QUEUED, "dispatched_at": None, "cancel_requested": {"$ne": True},
         "created_at": {"$lt": now - grace}}).to_list()
    sent = []
    for session_id in dict.fromkeys(job.session_id for job in waiting):
        job_id = await dispatch_next(session_id, redis=redis, sender=sender, settings=settings)
        if job_id is not None:
            sent.append(job_id)
    if sent:
        log.warning("sent again turns that had not been sent: %s", sent)
    return sent


async def redispatch_from_dead_hosts(
    *, redis: Redis, sender: TaskSender, settings: Settings
) -> list[str]:
    """Send again the queued turns routed to a host that is gone; their job ids.

    Their messages stay on the dead host's queue; if it comes back and delivers one,
    the claim fails (the job is running or over) and nothing runs twice."""
    serving = {(q, h.host) for h in await alive_hosts(redis) for q in h.queues}
    stranded = await Job.find({"state": JobState.QUEUED, "dispatched_at": {"$ne": None},
                               "routed_queue": {"$ne": None}}).to_list()
    resent = []
    for job in stranded:
        queue, host = split_host_queue(job.routed_queue or "")
        if host is None or (queue, host) in serving:
            continue
        result = await Job.get_pymongo_collection().update_one(
            {"_id": job.id, "state": JobState.QUEUED, "routed_queue": job.routed_queue},
            {"$set": {"dispatched_at": None, "routed_queue": None}})
        if result.modified_count and await dispatch_next(
                job.session_id, redis=redis, sender=sender, settings=settings):
            resent.append(str(job.id))
    return resent
