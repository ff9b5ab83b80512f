"""What the services need from the edges, as Protocols: the edges (the API's lifespan,
the worker's runtime) inject an implementation, so no service imports Celery."""

from __future__ import annotations

from typing import Protocol

__all__ = ["TaskSender"]


class TaskSender(Protocol):
    """Sends a chat turn to the task queue."""

    async def send_turn(self, job_id: str, queue: str) -> None:
        """Enqueue the turn of `job_id` on `queue` (a generic or a host queue); raises when
        the broker did not take it."""
