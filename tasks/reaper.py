"""The worker-lost reaper and housekeeping: a thread in each worker's main process, with
its own event loop and clients, that ends running jobs whose heartbeat went stale (their
worker died and no redelivery came), ends the claude processes they left behind, sends
again the turns stranded on the queue of a dead host, and stops idle tenant containers."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.protocol import utc_now
from app.services.dispatch import redispatch_from_dead_hosts
from app.services.job_lifecycle import live_job_ids, stale_running_jobs
from app.settings import Settings
from tasks.lost import declare_lost
from tasks.orphans import LiveJobs, reap_orphans
from tasks.periodic import PeriodicThread
from tasks.runtime import Runtime, build_runtime

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["Reaper", "housekeeping", "reap_once"]

log = logging.getLogger("wx.worker.reaper")


async def reap_once(rt: Runtime) -> list[str]:
    """One sweep: end stale running jobs, then orphaned claude runs; the lost job ids."""
    lost = []
    for job in await stale_running_jobs(rt.settings.heartbeat_stale_s):
        if await declare_lost(rt, job):
            lost.append(str(job.id))
    since = utc_now()
    await reap_orphans(rt.executor, rt.settings, LiveJobs(await live_job_ids(), since=since))
    return lost


async def housekeeping(rt: Runtime) -> None:
    """Turns stranded on a dead host's queue are sent again; idle containers stop."""
    resent = await redispatch_from_dead_hosts(redis=rt.redis, celery=rt.celery,
                                              settings=rt.settings)
    if resent:
        log.warning("sent again turns stranded on a dead host's queue: %s", resent)
    stop_idle = getattr(rt.executor, "stop_idle_containers", None)
    if stop_idle is not None:
        await stop_idle(rt.settings.container_idle_s)


class Reaper(PeriodicThread):
    """Runs `reap_once` and `housekeeping` every `reaper_interval_s`."""

    def __init__(self, settings: Settings, celery: Celery) -> None:
        super().__init__("wx-reaper", settings.reaper_interval_s, tick_first=False)
        self._settings = settings
        self._celery = celery
        self._rt: Runtime | None = None

    def setup(self) -> None:
        self._rt = build_runtime(self._settings, self._celery)

    def tick(self) -> None:
        assert self._rt is not None
        for sweep in (reap_once, housekeeping):
            try:
                self._rt.loop.run_until_complete(sweep(self._rt))
            except Exception:
                log.exception("%s failed", sweep.__name__)

    def teardown(self) -> None:
        if self._rt is not None:
            self._rt.loop.run_until_complete(_close(self._rt))
            self._rt.loop.close()


async def _close(rt: Runtime) -> None:
    await rt.executor.close()
    await rt.redis.aclose()
    await rt.mongo.close()
