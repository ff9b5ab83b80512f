"""A job's life on the worker side: atomic claim, heartbeat, finish, worker-lost, usage.

Every transition is one conditional `find_one_and_update`, so a redelivered task, the
reaper and the running worker can race without a job being run or ended twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from beanie import PydanticObjectId
from pymongo import ReturnDocument

from app.models import Job, TokenUsageLog
from app.protocol import JobState, UsageSummary, utc_now
from app.services.billing import usage_log_fields

__all__ = [
    "claim_job",
    "finish_job",
    "heartbeat",
    "live_job_ids",
    "mark_worker_lost",
    "next_queued_job",
    "record_usage",
    "stale_running_jobs",
]


async def _transition(query: dict[str, Any], update: dict[str, Any]) -> Job | None:
    raw = await Job.get_pymongo_collection().find_one_and_update(
        query, {"$set": update}, return_document=ReturnDocument.AFTER
    )
    return None if raw is None else Job.model_validate(raw)


async def claim_job(job_id: str, worker: str) -> Job | None:
    """queued -> running, atomically; None when the job is not (or no longer) claimable."""
    now = utc_now()
    return await _transition(
        {"_id": PydanticObjectId(job_id), "state": "queued", "cancel_requested": {"$ne": True}},
        {"state": "running", "worker": worker, "started_at": now, "heartbeat_at": now},
    )


async def heartbeat(job_id: str, usage: UsageSummary | None = None) -> bool:
    """Mark a running job alive (and checkpoint its usage so far); False if not running."""
    update: dict[str, Any] = {"heartbeat_at": utc_now()}
    if usage is not None:
        update["usage"] = usage.model_dump()
    result = await Job.get_pymongo_collection().update_one(
        {"_id": PydanticObjectId(job_id), "state": "running"}, {"$set": update}
    )
    return bool(result.modified_count)


async def finish_job(
    job_id: str,
    *,
    state: JobState,
    usage: UsageSummary | None,
    error_code: str | None = None,
    error_message: str | None = None,
) -> Job | None:
    """running -> terminal, atomically; None if someone else ended it first."""
    update: dict[str, Any] = {
        "state": state,
        "finished_at": utc_now(),
        "error_code": error_code,
        "error_message": error_message,
    }
    if usage is not None:
        update["usage"] = usage.model_dump()
    return await _transition({"_id": PydanticObjectId(job_id), "state": "running"}, update)


async def mark_worker_lost(job: Job, *, stale_before: datetime | None = None) -> Job | None:
    """End a running job `failed`/`worker_lost`, keeping its checkpointed usage.

    With `stale_before`, only if its heartbeat is still older than that (so a worker
    that came back to life in between is not cut off)."""
    query: dict[str, Any] = {"_id": job.id, "state": "running"}
    if stale_before is not None:
        query["$or"] = [{"heartbeat_at": {"$lt": stale_before}}, {"heartbeat_at": None}]
    return await _transition(query, {
        "state": "failed",
        "finished_at": utc_now(),
        "error_code": "worker_lost",
        "error_message": "The worker running this turn was lost.",
    })


async def stale_running_jobs(stale_s: float) -> list[Job]:
    """Running jobs whose heartbeat is older than `stale_s` seconds."""
    before = utc_now() - timedelta(seconds=stale_s)
    return await Job.find(
        {"state": "running", "$or": [{"heartbeat_at": {"$lt": before}}, {"heartbeat_at": None}]}
    ).to_list()


async def live_job_ids() -> set[str]:
    """Ids of jobs that may own a claude process now or soon (queued or running)."""
    jobs = await Job.find({"state": {"$in": ["queued", "running"]}}).to_list()
    return {str(job.id) for job in jobs}


async def next_queued_job(session_id: PydanticObjectId) -> Job | None:
    """The oldest queued job of a session."""
    jobs = await Job.find(
        {"session_id": session_id, "state": "queued", "cancel_requested": {"$ne": True}}
    ).sort("+created_at", "+_id").limit(1).to_list()
    return jobs[0] if jobs else None


async def record_usage(job: Job, summary: UsageSummary, model: str | None) -> None:
    """Upsert the turn's TokenUsageLog by job_id: a retry never counts a turn twice."""
    fields = usage_log_fields(job, summary, model)
    await TokenUsageLog.get_pymongo_collection().update_one(
        {"job_id": job.id},
        {"$set": fields, "$setOnInsert": {"created_at": utc_now()}},
        upsert=True,
    )
