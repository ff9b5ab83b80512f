"""Jobs of a tenant: lookup and cancel (DESIGN §3 step 6)."""

from __future__ import annotations

from redis.asyncio import Redis

from app.errors import NotFound
from app.events import EventPublisher, events_key
from app.models import Job
from app.protocol import CancelledFrame, UsageSummary, utc_now
from app.services.dispatch import dispatch_next
from app.services.ids import parse_id
from app.settings import Settings

__all__ = ["cancel_job", "cancel_key", "events_expired", "get_job", "latest_active_job"]


def cancel_key(job_id: str) -> str:
    """The Redis flag the worker polls (~100 ms) to interrupt a running turn."""
    return f"wx:job:{job_id}:cancel"


def terminal_key(job_id: str) -> str:
    return f"wx:job:{job_id}:terminal"


async def get_job(*, tenant_id: str, job_id: str) -> Job:
    """The tenant's job, or `NotFound` (also for another tenant's job)."""
    job = await Job.find_one(Job.id == parse_id(job_id, "Job"), Job.tenant_id == tenant_id)
    if job is None:
        raise NotFound("Job")
    return job


async def events_expired(redis: Redis, job: Job) -> bool:
    """A finished job whose event stream has expired: there is nothing left to follow."""
    return job.is_terminal and not await redis.exists(events_key(str(job.id)))


async def latest_active_job(*, tenant_id: str, job_ids: list[str]) -> Job | None:
    """Among `job_ids`, the running one, else the newest queued one."""
    ids = [parse_id(j, "Job") for j in job_ids]
    jobs = await Job.find(
        {"_id": {"$in": ids}, "tenant_id": tenant_id, "state": {"$in": ["queued", "running"]}}
    ).to_list()
    jobs.sort(key=lambda j: (j.state == "running", j.created_at), reverse=True)
    return jobs[0] if jobs else None


async def cancel_job(*, settings: Settings, redis: Redis, tenant_id: str, job_id: str) -> Job:
    """Request cancellation: a queued job is cancelled here, a running one by its worker.
    Cancelling a finished job changes nothing."""
    job = await get_job(tenant_id=tenant_id, job_id=job_id)
    if job.is_terminal:
        return job
    await redis.set(cancel_key(job_id), b"1", ex=settings.stream_ttl_s)
    collection = Job.get_pymongo_collection()
    await collection.update_one({"_id": job.id}, {"$set": {"cancel_requested": True}})
    # Atomic queued -> cancelled: the worker's claim (queued -> running) cannot also win.
    won = await collection.update_one(
        {"_id": job.id, "state": "queued"},
        {"$set": {"state": "cancelled", "finished_at": utc_now(),
                  "usage": UsageSummary().model_dump()}},
    )
    if won.modified_count == 1 and await redis.set(terminal_key(job_id), b"1", nx=True,
                                                   ex=settings.stream_ttl_s):
        publisher = EventPublisher(redis, maxlen=settings.stream_maxlen,
                                   ttl_s=settings.stream_ttl_s)
        await publisher.publish(job_id, [CancelledFrame(job_id=job_id, usage=UsageSummary())])
        # It may have been the session's next turn already sent: start the one after it.
        await dispatch_next(job.session_id, redis=redis, settings=settings)
    return await get_job(tenant_id=tenant_id, job_id=job_id)
