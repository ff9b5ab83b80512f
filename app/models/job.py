from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from app.protocol import UsageSummary, utc_now
from app.vocab import TERMINAL_STATES, Context, JobState, QueueName


class Job(Document):
    """One chat turn: queued -> running -> succeeded | failed | cancelled."""

    tenant_id: str
    project_id: PydanticObjectId
    session_id: PydanticObjectId
    context: Context
    queue: QueueName
    prompt: str
    state: JobState = JobState.QUEUED
    error_code: str | None = None
    error_message: str | None = None
    usage: UsageSummary | None = None
    worker: str | None = None
    heartbeat_at: datetime | None = None
    cancel_requested: bool = False
    # The tenant's monthly budget left when queued; the worker passes it as --max-budget-usd.
    max_budget_usd: float | None = None
    created_at: datetime = Field(default_factory=utc_now)
    # Dispatch (app/services/dispatch.py): chosen as the session's next turn and sent to
    # Celery on `routed_queue` (`queue`, or `<queue>.<host>` by tenant affinity).
    dispatched_at: datetime | None = None
    routed_queue: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    # Written by the transition that ended the job: who ended it (see turn_lifecycle).
    end_token: str | None = None

    class Settings:
        name = "jobs"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("state", ASCENDING)]),
            IndexModel([("session_id", ASCENDING), ("created_at", ASCENDING)]),
            IndexModel([("state", ASCENDING), ("heartbeat_at", ASCENDING)]),
        ]

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL_STATES
