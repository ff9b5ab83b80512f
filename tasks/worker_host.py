"""This worker's host (DESIGN §11): the host queues it consumes besides the generic ones,
and the heartbeat thread that keeps `wx:host:<host>` alive in the registry.

The host queues are added in code when the worker starts (`celeryd_after_setup`), so
every command line (`-Q chat`, `-Q chat,conversions`, compose, `wxrunner stack`, the
tests) consumes `<queue>.<worker_host>` for each generic queue it was given: one
setting, `WX_WORKER_HOST`, decides the host, and no command has to repeat it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis

from app.services.hosts import host_queue, register_host
from app.settings import Settings
from tasks.celery_app import QUEUES, make_queue
from tasks.periodic import PeriodicThread

__all__ = ["HostBeat", "add_host_queues", "consumed_queues"]

log = logging.getLogger("wx.worker.host")


def consumed_queues(celery: Any) -> list[str]:
    """The generic queues (`chat`, `conversions`) this worker consumes."""
    return [q for q in celery.amqp.queues.consume_from if q in QUEUES]


def add_host_queues(celery: Any, settings: Settings) -> list[str]:
    """Also consume `<queue>.<host>` for each generic queue consumed; the names added."""
    added = [host_queue(q, settings.worker_host) for q in consumed_queues(celery)]
    for name in added:
        celery.amqp.queues.select_add(make_queue(name))
    log.info("host %s: consuming %s", settings.worker_host, ", ".join(added) or "no host queue")
    return added


class HostBeat(PeriodicThread):
    """Refreshes this host's registry entry every `host_heartbeat_s`."""

    def __init__(self, settings: Settings, queues: Iterable[str]) -> None:
        super().__init__("wx-host-beat", settings.host_heartbeat_s, tick_first=True)
        self._settings = settings
        self._queues = list(queues)
        self._loop = asyncio.new_event_loop()
        self._redis: Redis | None = None
        self._executor: Any = None

    def setup(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._redis = Redis.from_url(self._settings.redis_url)

    def tick(self) -> None:
        assert self._redis is not None
        if self._executor is None:
            # dockerd down at start: register as not reachable, try again next beat.
            self._executor = _try_create_executor(self._settings)
        self._loop.run_until_complete(self._beat(self._redis, self._executor))

    def teardown(self) -> None:
        if self._redis is not None:
            self._loop.run_until_complete(_close(self._redis, self._executor))
        self._loop.close()

    async def _beat(self, redis: Redis, executor: Any) -> None:
        kind, docker_ok, containers = await asyncio.to_thread(_survey, executor)
        await register_host(redis, host=self._settings.worker_host, queues=self._queues,
                            executor=kind, docker=docker_ok, containers=containers,
                            heartbeat_s=self._settings.host_heartbeat_s)


def _try_create_executor(settings: Settings) -> Any:
    from workers.executor import create_executor

    try:
        return create_executor(settings)
    except Exception as exc:
        log.warning("no executor for the host heartbeat: %s", exc)
        return None


def _survey(executor: Any) -> tuple[str, bool, int]:
    """(executor kind, Docker reachable, running tenant containers) — blocking."""
    from workers.executor.docker import DockerExecutor

    if executor is None:
        return "docker", False, 0
    if not isinstance(executor, DockerExecutor):
        return "local", False, 0
    try:
        executor.client.ping()
        return "docker", True, len(executor.tenant_containers())
    except Exception as exc:
        log.warning("docker is not reachable: %s", exc)
        return "docker", False, 0


async def _close(redis: Redis, executor: Any) -> None:
    if executor is not None:
        await executor.close()
    await redis.aclose()
