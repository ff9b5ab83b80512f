"""The Celery app's configuration, and the task sender the API injects (DESIGN §7).

Both sides build their Celery app here: the worker (`tasks/`) runs the chat-turn task, the
API only sends it by name through `CelerySender`, so nothing in `app/` imports `tasks/`.
Workers run the `threads` pool: a turn waits on Claude, so one process runs
`worker_concurrency` turns, each a thread that hands its coroutine to the process's one
event loop (tasks/runtime.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

from celery import Celery
from kombu.entity import Exchange, Queue

from app.settings import Settings
from app.vocab import QueueName

__all__ = ["CHAT_TURN_TASK", "CelerySender", "make_celery", "make_queue", "turn_time_limit_s"]

CHAT_TURN_TASK: Final = "chat_turn.run"
# Above every turn's time limit, so Redis never redelivers a turn that is still running.
_VISIBILITY_MARGIN_S = 600
# A send to a broker that is away fails within about a second (the sweep sends it again).
_PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2,
                  "interval_max": 0.5}


def turn_time_limit_s(settings: Settings, queue: str) -> int:
    """The time limit of a turn on `queue` (or on `<queue>.<host>`)."""
    if queue.partition(".")[0] == QueueName.CONVERSIONS:
        return settings.conversions_time_limit_s
    return settings.chat_time_limit_s


def make_queue(name: str) -> Queue:
    """A direct queue bound to its own exchange (what `send_task(queue=name)` creates)."""
    return Queue(name, Exchange(name), routing_key=name)  # type: ignore[no-untyped-call]


def make_celery(settings: Settings, *, include: list[str] | None = None) -> Celery:
    """The Celery app: Redis broker, queues `chat` and `conversions`, at-least-once delivery."""
    app = Celery("wxrunner", broker=settings.broker_url or settings.redis_url,
                 include=include or [])
    longest = max(turn_time_limit_s(settings, q) for q in QueueName)
    transport = {"visibility_timeout": longest + _VISIBILITY_MARGIN_S}
    app.conf.update(
        task_queues=[make_queue(name) for name in QueueName],
        task_default_queue=QueueName.CHAT.value,
        task_routes={CHAT_TURN_TASK: {"queue": QueueName.CHAT.value}},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_pool="threads",
        worker_concurrency=settings.worker_concurrency,
        broker_transport_options=transport,
        result_backend_transport_options=transport,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a Redis restart never stops a worker
        task_publish_retry_policy=_PUBLISH_RETRY,
        task_ignore_result=True,
        # One (disabled) result backend for the process: else each pool thread builds its
        # own on its first task, scanning every installed package's entry points (~40 ms).
        result_backend_thread_safe=True,
        worker_send_task_events=True,
        task_send_sent_event=True,
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        worker_hijack_root_logger=False,
    )
    return app


class CelerySender:
    """`TaskSender` over a Celery app: the chat-turn task, sent by name."""

    def __init__(self, celery: Celery) -> None:
        self.celery = celery

    async def send_turns(self, turns: Sequence[tuple[str, str]]) -> list[Exception | None]:
        # one thread and one producer for the batch, not a thread and a pool checkout each
        return await asyncio.to_thread(self._send_all, turns)

    def _send_all(self, turns: Sequence[tuple[str, str]]) -> list[Exception | None]:
        sent = 0
        try:
            with self.celery.producer_or_acquire() as producer:
                for job_id, queue in turns:
                    self.celery.send_task(CHAT_TURN_TASK, args=[job_id], queue=queue,
                                          producer=producer)
                    sent += 1
        except Exception as exc:  # the broker is away: this turn and the rest are not tried
            return [*[None] * sent, *[exc] * (len(turns) - sent)]
        return [None] * sent

    def close(self) -> None:
        self.celery.close()
