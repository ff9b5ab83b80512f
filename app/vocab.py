"""The runner's vocabularies, defined once: job states, contexts, queues."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = [
    "ACTIVE_STATES",
    "TERMINAL_STATES",
    "Context",
    "DeliveryState",
    "JobState",
    "QueueName",
    "WebhookEvent",
    "event_of",
    "queue_for",
]


class JobState(StrEnum):
    """queued -> running -> succeeded | failed | cancelled (queued -> cancelled too)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATES: Final = frozenset({JobState.QUEUED, JobState.RUNNING})
TERMINAL_STATES: Final = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class Context(StrEnum):
    """What a turn is for; it decides Claude's tools and the queue."""

    ANALYSIS = "analysis"
    CONVERSION = "conversion"
    REVIEW = "review"


class QueueName(StrEnum):
    """The generic Celery queues (a worker host adds `<queue>.<host>` for each)."""

    CHAT = "chat"
    CONVERSIONS = "conversions"


def queue_for(context: Context) -> QueueName:
    """Conversions run on their own queue (long turns must not block chat)."""
    return QueueName.CONVERSIONS if context == Context.CONVERSION else QueueName.CHAT


class WebhookEvent(StrEnum):
    """What a webhook can be told: a job ended, and how."""

    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"


_EVENT_OF: Final = {JobState.SUCCEEDED: WebhookEvent.JOB_SUCCEEDED,
                    JobState.FAILED: WebhookEvent.JOB_FAILED,
                    JobState.CANCELLED: WebhookEvent.JOB_CANCELLED}


def event_of(state: JobState) -> WebhookEvent | None:
    """The webhook event of a job ending in `state` (None: it has not ended)."""
    return _EVENT_OF.get(state)


class DeliveryState(StrEnum):
    """pending (retried with backoff) -> delivered | failed (gave up)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
