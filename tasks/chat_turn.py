"""The chat-turn task (glue only: the logic is in tasks/turn_runner.py) and the worker
signals: logging, the host queues, each child's own loop and clients after the fork,
and the main process's threads (reaper and housekeeping, host heartbeat)."""

from __future__ import annotations

import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import (
    celeryd_after_setup,
    setup_logging,
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from app.logging import configure_logging, log_context
from app.settings import get_settings
from tasks import app
from tasks.celery_app import CHAT_TURN_TASK
from tasks.reaper import Reaper
from tasks.runtime import Runtime, close_runtime, get_runtime, reset_runtime
from tasks.turn_runner import run_turn
from tasks.worker_host import HostBeat, add_host_queues, consumed_queues

log = logging.getLogger("wx.worker")

_reaper: Reaper | None = None
_host_beat: HostBeat | None = None


@app.task(name=CHAT_TURN_TASK, ignore_result=True, acks_late=True)  # type: ignore[untyped-decorator]
def run(job_id: str) -> None:
    """Run one chat turn by job id (idempotent: see turn_runner.run_turn)."""
    rt = get_runtime(app)
    with log_context(job_id=job_id):
        _run(rt, job_id)


def _run(rt: Runtime, job_id: str) -> None:
    task = rt.loop.create_task(run_turn(rt, job_id))
    while True:
        try:
            rt.loop.run_until_complete(task)
            return
        except SoftTimeLimitExceeded:
            # Raised wherever the loop was; the turn is still scheduled: let it see the
            # flag, interrupt claude and end with `timeout`.
            log.warning("job %s: soft time limit reached", job_id)
            rt.soft_timed_out.add(job_id)
            if task.done():
                return


@setup_logging.connect  # type: ignore[untyped-decorator]
def _setup_logging(**_: Any) -> None:
    # Connected, so Celery leaves the root logger to us: JSON lines when log_json.
    configure_logging(get_settings())


@celeryd_after_setup.connect  # type: ignore[untyped-decorator]
def _add_host_queues(sender: str, instance: Any, **_: Any) -> None:
    add_host_queues(instance.app, get_settings())


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _init_child(**_: Any) -> None:
    reset_runtime(app)


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_child(**_: Any) -> None:
    close_runtime()


@worker_ready.connect  # type: ignore[untyped-decorator]
def _start_reaper(**_: Any) -> None:
    global _reaper, _host_beat
    _host_beat = HostBeat(get_settings(), consumed_queues(app))
    _host_beat.start()
    _reaper = Reaper(get_settings(), app)
    _reaper.start()


@worker_shutdown.connect  # type: ignore[untyped-decorator]
def _stop_reaper(**_: Any) -> None:
    if _reaper is not None:
        _reaper.stop()
    if _host_beat is not None:
        _host_beat.stop()


__all__ = ["run"]
