"""The Celery app, built from Settings only (no side effects: the API imports it to
send tasks by name; the worker imports `tasks` to run them)."""

from __future__ import annotations

from celery import Celery
from kombu.entity import Exchange, Queue

from app.settings import Settings

__all__ = ["CHAT_TURN_TASK", "QUEUES", "make_celery", "make_queue", "time_limits"]

CHAT_TURN_TASK = "chat_turn.run"
QUEUES = ("chat", "conversions")
# Above every hard limit, so Redis never redelivers a turn that is still running.
_VISIBILITY_MARGIN_S = 600


def time_limits(settings: Settings, queue: str) -> tuple[int, int]:
    """(soft, hard) time limit in seconds of a task on `queue` (or `<queue>.<host>`)."""
    if queue.partition(".")[0] == "conversions":
        return settings.conversions_soft_time_limit_s, settings.conversions_time_limit_s
    return settings.chat_soft_time_limit_s, settings.chat_time_limit_s


def make_celery(settings: Settings) -> Celery:
    """The Celery app: Redis broker, queues `chat` and `conversions`, at-least-once delivery."""
    app = Celery("wxrunner", broker=settings.redis_url, include=["tasks.chat_turn"])
    soft, hard = time_limits(settings, "chat")
    visibility = {"visibility_timeout": _visibility_timeout(settings)}
    app.conf.update(
        task_queues=[make_queue(name) for name in QUEUES],
        task_default_queue="chat",
        task_routes={CHAT_TURN_TASK: {"queue": "chat"}},
        task_acks_late=True,
        # With acks_late, a child killed mid-task would otherwise have its message
        # acked (task failed, job stuck `running`). Rejecting requeues it at once: the
        # redelivered task finds the job running, never runs Claude again, and ends it
        # `worker_lost` once the heartbeat is stale (see tasks/turn_runner.py).
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        # Defaults are the chat queue's; dispatch sets each turn's limits from its queue.
        task_soft_time_limit=soft,
        task_time_limit=hard,
        broker_transport_options=visibility,
        result_backend_transport_options=visibility,
        task_ignore_result=True,
        worker_send_task_events=True,
        task_send_sent_event=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    return app


def make_queue(name: str) -> Queue:
    """A direct queue bound to its own exchange (what `send_task(queue=name)` creates)."""
    return Queue(name, Exchange(name), routing_key=name)  # type: ignore[no-untyped-call]


def _visibility_timeout(settings: Settings) -> int:
    hard = max(time_limits(settings, q)[1] for q in QUEUES)
    return hard + _VISIBILITY_MARGIN_S
