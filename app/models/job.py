from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from app.protocol import ContextName, JobState, UsageSummary, utc_now

QueueName = Literal["chat", "conversions"]
TERMINAL_JOB_STATES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


class Job(Document):
    """One chat turn: queued -> running -> succeeded | failed | cancelled."""

    tenant_id: str
    project_id: PydanticObjectId
    session_id: PydanticObjectId
    context: ContextName
    queue: QueueName
    prompt: str
    state: JobState = "queued"
    error_code: str | None = None
    error_message: str | None = None
    usage: UsageSummary | None = None
    worker: str | None = None
    heartbeat_at: datetime | None = None
    cancel_requested: bool = False
    # The tenant's monthly budget left when queued; the worker passes it as --max-budget-usd.
    max_budget_usd: float | None = None
    created_at: datetime = Field(default_factory=utc_now)
    dispatched_at: datetime | None = None  # task sent to Celery (app/services/dispatch.py)
    # The Celery queue the task went to: `queue`, or `<queue>.<host>` (tenant affinity).
    routed_queue: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    class Settings:
        name = "jobs"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING)]),
            IndexModel([("session_id", ASCENDING), ("created_at", ASCENDING)]),
            IndexModel([("state", ASCENDING), ("heartbeat_at", ASCENDING)]),
        ]

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_JOB_STATES
