"""What the services need from the edges, as Protocols: the edges (the API's lifespan,
the worker's runtime) inject an implementation, so no service imports Celery."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["TaskSender"]


class TaskSender(Protocol):
    """Sends chat turns to the task queue."""

    async def send_turns(self, turns: Sequence[tuple[str, str]]) -> list[Exception | None]:
        """Enqueue each (job id, queue: a generic or a host queue) in order; for each, None
        or why the broker did not take it."""
