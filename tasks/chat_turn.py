"""The chat-turn task (glue only: the logic is in tasks/turn_runner.py) and the worker
signals that give each child its own loop and clients after the fork."""

from __future__ import annotations

import logging
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from app.settings import get_settings
from tasks import app
from tasks.celery_app import CHAT_TURN_TASK
from tasks.reaper import Reaper
from tasks.runtime import close_runtime, get_runtime, reset_runtime
from tasks.turn_runner import run_turn

log = logging.getLogger("wx.worker")

_reaper: Reaper | None = None


@app.task(name=CHAT_TURN_TASK, ignore_result=True, acks_late=True)  # type: ignore[untyped-decorator]
def run(job_id: str) -> None:
    """Run one chat turn by job id (idempotent: see turn_runner.run_turn)."""
    rt = get_runtime(app)
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


@worker_process_init.connect  # type: ignore[untyped-decorator]
def _init_child(**_: Any) -> None:
    reset_runtime(app)


@worker_process_shutdown.connect  # type: ignore[untyped-decorator]
def _close_child(**_: Any) -> None:
    close_runtime()


@worker_ready.connect  # type: ignore[untyped-decorator]
def _start_reaper(**_: Any) -> None:
    global _reaper
    _reaper = Reaper(get_settings(), app)
    _reaper.start()


@worker_shutdown.connect  # type: ignore[untyped-decorator]
def _stop_reaper(**_: Any) -> None:
    if _reaper is not None:
        _reaper.stop()


__all__ = ["run"]
