"""Claude processes left behind by a lost worker: the Docker executor finds them by
pid file in the tenant container; for the local executor this module keeps pid files
under `<data_dir>/run/` and ends the process group of any job that is no longer live."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

from bson import ObjectId
from bson.errors import InvalidId

from app.settings import Settings
from workers.executor.base import Execution, Executor

__all__ = ["LiveJobs", "forget_pid", "reap_orphans", "remember_pid"]

_CLOCK_SKEW = timedelta(seconds=5)

log = logging.getLogger("wx.worker.orphans")


def _run_dir(settings: Settings) -> Path:
    return settings.data_dir / "run"


def remember_pid(settings: Settings, job_id: str, execution: Execution) -> None:
    """Record a local run's pid (its process group); docker runs record their own."""
    pid = getattr(execution, "pid", None)
    if not isinstance(pid, int):
        return
    _run_dir(settings).mkdir(parents=True, exist_ok=True)
    (_run_dir(settings) / f"{job_id}.pid").write_text(str(pid))


def forget_pid(settings: Settings, job_id: str) -> None:
    (_run_dir(settings) / f"{job_id}.pid").unlink(missing_ok=True)


class LiveJobs(set[str]):
    """Job ids of a snapshot of live jobs, plus every job created after it.

    The snapshot is taken before the scan of running claude processes; a job queued
    and started in between has a pid file but is not in the snapshot. Its ObjectId
    carries its creation time, so it still counts as live and is never killed."""

    def __init__(self, ids: Iterable[str], *, since: datetime) -> None:
        super().__init__(ids)
        self.since = since - _CLOCK_SKEW

    def __contains__(self, job_id: object) -> bool:
        if super().__contains__(job_id):
            return True
        try:
            return ObjectId(str(job_id)).generation_time >= self.since
        except InvalidId:
            return True  # not one of ours: leave it alone


async def reap_orphans(executor: Executor, settings: Settings, live: LiveJobs) -> list[str]:
    """End claude runs whose job is not live; the reaped job ids."""
    from workers.executor.docker import DockerExecutor

    if isinstance(executor, DockerExecutor):
        # The snapshot time, less the skew margin: a run that began after it is spared
        # even if its job is missing from `live` (created or started after the snapshot).
        return await executor.reap_orphans(live, started_before=live.since.timestamp())
    return _reap_local(settings, live)


def _reap_local(settings: Settings, live: LiveJobs) -> list[str]:
    reaped = []
    run_dir = _run_dir(settings)
    for pid_file in run_dir.glob("*.pid") if run_dir.exists() else []:
        job_id = pid_file.stem
        if job_id in live:
            continue
        pid = int(pid_file.read_text() or 0)
        if pid > 0 and _is_claude(pid):
            try:
                os.killpg(pid, signal.SIGKILL)
                reaped.append(job_id)
            except ProcessLookupError:
                pass
        pid_file.unlink(missing_ok=True)
    if reaped:
        log.warning("ended orphaned local claude runs of jobs %s", reaped)
    return reaped


def _is_claude(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"claude" in cmdline
