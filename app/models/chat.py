from datetime import datetime
from typing import Literal

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from app.protocol import utc_now
from app.vocab import Context


class ChatSession(Document):
    """One conversation; its turns run one at a time and resume one Claude session."""

    tenant_id: str
    project_id: PydanticObjectId
    context: Context = Context.ANALYSIS
    claude_session_id: str | None = None
    title: str = ""
    created_at: datetime = Field(default_factory=utc_now)
    last_active_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "chat_sessions"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("project_id", ASCENDING),
                        ("last_active_at", DESCENDING)]),
        ]


class ChatMessage(Document):
    """A message of a session as the user saw it (assistant text is sanitized)."""

    tenant_id: str
    session_id: PydanticObjectId
    role: Literal["user", "assistant"]
    content: str
    job_id: PydanticObjectId | None = None
    created_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "chat_messages"
        indexes = [
            IndexModel([("session_id", ASCENDING), ("created_at", ASCENDING)]),
            IndexModel([("job_id", ASCENDING), ("role", ASCENDING)]),  # a turn's end upserts by it
        ]
