"""Executors run the claude command for a tenant: in its container, or as a local process."""

from __future__ import annotations

import logging

from app.errors import ExecutorFailed
from app.settings import Settings
from workers.executor.base import (
    Execution,
    Executor,
    ExecutorHealth,
    ExitStatus,
    LiveJobs,
    RunSpec,
)

__all__ = [
    "Execution",
    "Executor",
    "ExecutorHealth",
    "ExitStatus",
    "LiveJobs",
    "RunSpec",
    "create_executor",
    "docker_reachable",
]

log = logging.getLogger(__name__)


def docker_reachable(settings: Settings) -> bool:
    """True when a Docker engine answers a ping (the SDK installed and dockerd up)."""
    try:
        from workers.executor.docker import make_docker_client

        client = make_docker_client(settings)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def create_executor(settings: Settings, executor: Executor | None = None) -> Executor:
    """The injected `executor`, else Docker (setting `docker`, or `auto` with dockerd up),
    else local."""
    if executor is not None:
        return executor
    kind = settings.executor
    if kind == "auto":
        kind = "docker" if docker_reachable(settings) else "local"
        log.info("executor auto -> %s", kind)
    if kind == "local" and settings.env == "prod":
        # Settings refuse WX_EXECUTOR=local in prod; `auto` is only known to be local here.
        raise ExecutorFailed("no Docker engine reachable, and the local executor (no "
                             "isolation) is refused when WX_ENV=prod: start dockerd")
    if kind == "docker":
        from workers.executor.docker import DockerExecutor

        return DockerExecutor(settings)  # connects on first use: dockerd may come later
    from workers.executor.local import LocalExecutor

    log.warning("the local executor runs tenant code on this host with no isolation "
                "(network, files, credentials): development only")
    return LocalExecutor(settings)
