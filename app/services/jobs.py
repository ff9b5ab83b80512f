"""Jobs of a tenant: lookup and cancel (DESIGN §3 step 6)."""

from __future__ import annotations

from redis.asyncio import Redis

from app.errors import NotFound
from app.keys import events_key
from app.models import Job
from app.services.ids import parse_id
from app.services.turn_lifecycle import TurnDeps, cancel_turn
from app.vocab import ACTIVE_STATES, JobState

__all__ = ["cancel_job", "events_expired", "get_job", "latest_active_job"]


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
        {"_id": {"$in": ids}, "tenant_id": tenant_id, "state": {"$in": list(ACTIVE_STATES)}}
    ).to_list()
    jobs.sort(key=lambda j: (j.state == JobState.RUNNING, j.created_at), reverse=True)
    return jobs[0] if jobs else None


async def cancel_job(deps: TurnDeps, *, tenant_id: str, job_id: str) -> Job:
    """Cancel the tenant's job: a queued one at once, a running one by its worker within
    ~2 s. Cancelling a finished job changes nothing."""
    job = await get_job(tenant_id=tenant_id, job_id=job_id)
    await cancel_turn(deps, job)
    return await get_job(tenant_id=tenant_id, job_id=job_id)
