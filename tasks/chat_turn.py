"""The chat-turn task (glue only: the turn is tasks/turn_runner.py) and the worker signals:
logging, the host queues, the process's runtime (its loop and clients), the housekeeping,
and the warm shutdown's grace period."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from celery import Task
from celery.signals import (
    celeryd_after_setup,
    setup_logging,
    worker_init,
    worker_ready,
    worker_shutdown,
    worker_shutting_down,
)

from app.logging import configure_logging, log_context
from app.retry import is_transient
from app.settings import get_settings
from app.taskqueue import CHAT_TURN_TASK
from tasks import app
from tasks.housekeeping import HostBeat, Reaper
from tasks.runtime import WorkerRuntime
from tasks.turn_runner import run_turn
from tasks.webhook_sender import WebhookSender
from tasks.worker_host import add_host_queues, consumed_queues
from tasks.workspace_service import serve as serve_workspaces

log = logging.getLogger("wx.worker")

_RETRY_CLAIM_S = 5  # MongoDB away past the outage window at claim time: try again later

_runtime: WorkerRuntime | None = None


def runtime() -> WorkerRuntime:
    """This process's runtime, opened on first use."""
    global _runtime
    if _runtime is None:
        _runtime = WorkerRuntime(get_settings(), app)
        _runtime.start()
    return _runtime


@app.task(name=CHAT_TURN_TASK, ignore_result=True, acks_late=True, bind=True)  # type: ignore[untyped-decorator]
def run(self: Task, job_id: str) -> None:
    """Run one chat turn by job id (idempotent: a job runs only if it is still queued)."""
    rt = runtime()
    with log_context(job_id=job_id):
        try:
            rt.run(run_turn(rt, job_id))
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("job %s: cannot claim it now (%s); trying again", job_id, exc)
            raise self.retry(countdown=_RETRY_CLAIM_S, max_retries=None) from exc


@setup_logging.connect  # type: ignore[untyped-decorator]
def _setup_logging(**_: Any) -> None:
    # Connected, so Celery leaves the root logger to us: JSON lines when log_json.
    configure_logging(get_settings())


@celeryd_after_setup.connect  # type: ignore[untyped-decorator]
def _add_host_queues(sender: str, instance: Any, **_: Any) -> None:
    add_host_queues(instance.app, get_settings())


@worker_init.connect  # type: ignore[untyped-decorator]
def _open_runtime(**_: Any) -> None:
    runtime()


@worker_ready.connect  # type: ignore[untyped-decorator]
def _start_housekeeping(sender: Any, **_: Any) -> None:
    _start_pool_threads(sender.pool)
    rt = runtime()
    rt.start_background(Reaper(rt.clients).run(),
                        HostBeat(rt.clients, consumed_queues(app)).run(),
                        serve_workspaces(rt.clients), WebhookSender(rt.clients).run())


def _start_pool_threads(pool: Any) -> None:
    """Start every pool thread now. The threads pool starts one per task, up to its
    concurrency, each while the consumer waits for it: a burst of turns would wait on a
    hundred thread starts, each competing for the GIL with the turns already running."""
    executor = getattr(pool, "executor", None)
    if not isinstance(executor, ThreadPoolExecutor):
        return
    all_started = threading.Barrier(pool.limit + 1)
    for _ in range(pool.limit):
        executor.submit(all_started.wait)
    try:
        all_started.wait(timeout=10)
    except threading.BrokenBarrierError:  # a thread started late: it is still there
        log.warning("not every pool thread started within 10 s")


@worker_shutting_down.connect  # type: ignore[untyped-decorator]
def _begin_shutdown(**_: Any) -> None:
    if _runtime is not None:
        _runtime.begin_shutdown()


@worker_shutdown.connect  # type: ignore[untyped-decorator]
def _close_runtime(**_: Any) -> None:
    global _runtime
    rt, _runtime = _runtime, None
    if rt is not None:
        rt.stop()


__all__ = ["run", "runtime"]
