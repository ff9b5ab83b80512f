"""Ending a turn whose worker died (`worker_lost`): shared by a redelivered task and
the periodic reaper. The atomic running -> failed transition decides who publishes,
so the job gets exactly one terminal frame and its usage is counted once."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from app.errors import ErrorCode
from app.logging import log_context
from app.metrics import record_turn_end
from app.models import Job
from app.protocol import ErrorFrame, UsageSummary, utc_now
from app.services.dispatch import dispatch_next
from app.services.job_lifecycle import mark_worker_lost, record_usage
from tasks.runtime import Runtime

__all__ = ["await_or_declare_lost", "declare_lost"]

log = logging.getLogger("wx.worker.lost")


async def declare_lost(rt: Runtime, job: Job) -> bool:
    """End `job` as worker_lost if its heartbeat is still stale; True if this call did."""
    with log_context(job_id=str(job.id), tenant_id=job.tenant_id):
        return await _declare_lost(rt, job)


async def _declare_lost(rt: Runtime, job: Job) -> bool:
    stale_before = utc_now() - timedelta(seconds=rt.settings.heartbeat_stale_s)
    lost = await mark_worker_lost(job, stale_before=stale_before)
    if lost is None:
        return False
    log.warning("job %s: worker %s lost", lost.id, lost.worker)
    usage = (lost.usage or UsageSummary()).model_copy(update={"partial": True})
    if lost.usage is not None:
        await record_usage(lost, usage, None)
    frame = ErrorFrame(job_id=str(lost.id), code=ErrorCode.WORKER_LOST,
                       message="The worker running this turn was lost; the turn was ended.",
                       usage=usage)
    await rt.publisher.publish(str(lost.id), [frame])
    duration = ((lost.finished_at - lost.started_at).total_seconds()
                if lost.finished_at and lost.started_at else None)
    await record_turn_end(rt.redis, lost, "failed", lost.usage, duration_s=duration)
    await dispatch_next(lost.session_id, redis=rt.redis, celery=rt.celery, settings=rt.settings)
    return True


async def await_or_declare_lost(rt: Runtime, job: Job) -> None:
    """A redelivered task found its job running: wait until it ends or its heartbeat
    goes stale (its worker is gone), then end it. Never runs Claude."""
    deadline = asyncio.get_running_loop().time() + 2 * rt.settings.heartbeat_stale_s + 5
    while asyncio.get_running_loop().time() < deadline:
        current = await Job.get(job.id)
        if current is None or current.state != "running":
            return
        if await declare_lost(rt, current):
            return
        await asyncio.sleep(rt.settings.heartbeat_interval_s)
