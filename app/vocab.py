"""The runner's vocabularies, defined once: job states, contexts, queues."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["ACTIVE_STATES", "TERMINAL_STATES", "Context", "JobState", "QueueName", "queue_for"]


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
