"""A worker's housekeeping, coroutines on its loop (DESIGN §7, §11):

* the reaper: ends running jobs whose heartbeat went stale (their worker died) as
  `worker_lost`, ends the claude runs they left behind, sends again the turns never sent or
  stranded on a dead host's queue, stops idle tenant containers, and finishes the turn
  endings left in the outbox;
* the host beat: keeps this worker's host in the registry, with its executor's health.

Staleness is only trusted when measured while MongoDB answered: after MongoDB was away,
the reaper waits `heartbeat_stale_s` before it calls anyone lost, so the workers whose
heartbeats could not be written during the outage get to write them again first."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable

from app.protocol import utc_now
from app.retry import is_transient
from app.services.dispatch import redispatch_from_dead_hosts, sweep_unsent
from app.services.hosts import register_host
from app.services.turn_lifecycle import (
    declare_lost,
    flush_outbox,
    live_job_ids,
    stale_running_jobs,
)
from tasks.runtime import Clients
from workers.executor.base import LiveJobs

__all__ = ["HostBeat", "Reaper"]

log = logging.getLogger("wx.worker.reaper")


async def _every(interval_s: float, step: Callable[[], Awaitable[object]], name: str,
                 *, first: bool) -> None:
    if not first:
        await asyncio.sleep(interval_s)
    while True:
        try:
            await step()
        except Exception as exc:
            if is_transient(exc):
                log.warning("%s: a dependency is away (%s)", name, exc)
            else:
                log.exception("%s failed", name)
        await asyncio.sleep(interval_s)


class Reaper:
    """The periodic sweep of one worker process."""

    def __init__(self, clients: Clients) -> None:
        self.clients = clients
        self._mongo_ok_since: float | None = None

    async def run(self) -> None:
        await _every(self.clients.settings.reaper_interval_s, self.sweep, "reaper",
                     first=False)

    async def sweep(self) -> list[str]:
        """One sweep; the job ids declared lost."""
        deps, settings = self.clients.deps, self.clients.settings
        try:
            stale = await stale_running_jobs(settings.heartbeat_stale_s)
        except Exception:
            self._mongo_ok_since = None
            raise
        now = time.monotonic()
        if self._mongo_ok_since is None:
            self._mongo_ok_since = now
        lost = []
        if now - self._mongo_ok_since >= settings.heartbeat_stale_s:
            lost = [str(job.id) for job in stale if await declare_lost(deps, job)]
        await flush_outbox(deps)
        since = utc_now()
        live = LiveJobs(await live_job_ids(), since=since)
        await self.clients.executor.reap_orphans(live)
        await sweep_unsent(redis=deps.redis, sender=deps.sender, settings=settings)
        resent = await redispatch_from_dead_hosts(redis=deps.redis, sender=deps.sender,
                                                  settings=settings)
        if resent:
            log.warning("sent again turns stranded on a dead host's queue: %s", resent)
        await self.clients.executor.stop_idle(settings.container_idle_s)
        return lost


class HostBeat:
    """Refreshes this host's registry entry every `host_heartbeat_s`."""

    def __init__(self, clients: Clients, queues: Iterable[str]) -> None:
        self.clients = clients
        self.queues = list(queues)

    async def run(self) -> None:
        await _every(self.clients.settings.host_heartbeat_s, self.beat, "host beat",
                     first=True)

    async def beat(self) -> None:
        settings = self.clients.settings
        health = await self.clients.executor.health()
        await register_host(self.clients.redis, host=settings.worker_host, queues=self.queues,
                            executor=health.kind, docker=health.reachable,
                            containers=health.sandboxes, heartbeat_s=settings.host_heartbeat_s)
