"""Housekeeping of tenant containers: runs in progress, idle time, orphaned claude processes."""

from __future__ import annotations

import contextlib
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from app.settings import Settings
from workers.executor._docker_exec import LAST_USED, exec_output, signal_until_gone
from workers.executor._naming import RUN_DIR_IN_CONTAINER

__all__ = ["ContainerRuns", "inspect_runs", "reap_container", "stop_if_idle"]

# For each pid file: is its process alive AND still the run of that job? The job id is
# in the process's environment (WX_JOB_ID), so a reused pid is never mistaken for it.
_SURVEY = r"""
now=$(date +%s)
last=$(stat -c %Y "$1" 2>/dev/null || stat -c %Y /proc/1)
echo "idle $((now - last))"
for f in "$0"/*.pid; do
  [ -e "$f" ] || continue
  j=${f##*/}; j=${j%.pid}; p=$(cat "$f")
  if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "WX_JOB_ID=$j"; then
    echo "run $j $p alive $(stat -c %Y "$f" 2>/dev/null || echo "$now")"
  else
    echo "run $j $p dead"
  fi
done
"""


@dataclass
class ContainerRuns:
    """What a survey of one container found."""

    idle_s: float
    alive: dict[str, str] = field(default_factory=dict)  # job id -> pid
    started: dict[str, float] = field(default_factory=dict)  # job id -> pid file time (epoch)
    dead: list[str] = field(default_factory=list)  # job ids with a stale pid file


def inspect_runs(api: Any, container_id: str) -> ContainerRuns:
    """Survey the container's pid files and idle time with one exec."""
    _code, out = exec_output(api, container_id, ["sh", "-c", _SURVEY, RUN_DIR_IN_CONTAINER,
                                                 LAST_USED])
    runs = ContainerRuns(idle_s=0.0)
    for line in out.decode(errors="replace").splitlines():
        parts = line.split()
        if parts[:1] == ["idle"] and len(parts) == 2:
            runs.idle_s = float(parts[1])
        elif parts[:1] == ["run"] and len(parts) in (4, 5):
            if parts[3] == "alive":
                runs.alive[parts[1]] = parts[2]
                runs.started[parts[1]] = float(parts[4]) if len(parts) == 5 else 0.0
            else:
                runs.dead.append(parts[1])
    return runs


def stop_if_idle(container: Any, max_idle_s: float) -> bool:
    """Stop the container when nothing runs in it and it has been unused for `max_idle_s`."""
    runs = inspect_runs(container.client.api, container.id)
    if runs.alive or runs.idle_s < max_idle_s:
        return False
    container.stop(timeout=5)
    return True


def reap_container(
    container: Any, live_job_ids: Container[str], settings: Settings,
    started_before: float | None = None,
) -> list[str]:
    """End claude processes whose job is not live; remove stale pid files. Reaped job ids.

    With `started_before` (epoch seconds: when `live_job_ids` was read), a run whose pid
    file is not older than that is never reaped: its job may have been created or
    started after the snapshot, so its absence from it proves nothing."""
    api = container.client.api
    runs = inspect_runs(api, container.id)
    reaped = []
    for job_id, pid in runs.alive.items():
        if job_id in live_job_ids:
            continue
        if started_before is not None and runs.started.get(job_id, 0.0) >= started_before:
            continue

        def alive(job_id: str = job_id) -> bool:
            return job_id in inspect_runs(api, container.id).alive

        signal_until_gone(api, container.id, pid, alive, settings)
        reaped.append(job_id)
    for job_id in [*reaped, *(j for j in runs.dead if j not in live_job_ids)]:
        with contextlib.suppress(Exception):
            exec_output(api, container.id, ["rm", "-f", f"{RUN_DIR_IN_CONTAINER}/{job_id}.pid"])
    return reaped
