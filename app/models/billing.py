from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, IndexModel

from app.protocol import utc_now


class StoredModelTotals(BaseModel):
    """Claude Code's running totals for one model of a Claude session."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0
    cache_creation_1h_tokens: int = 0
    web_search_requests: int = 0
    cost_usd: float = 0.0


class ClaudeSessionTotals(Document):
    """The running totals Claude Code had persisted for one Claude session after its last
    billed turn: the next turn's own figures are its result minus these."""

    tenant_id: str
    claude_session_id: str
    chat_session_id: PydanticObjectId | None = None
    by_model: dict[str, StoredModelTotals] = Field(default_factory=dict)
    # The turn that set `by_model`, and the totals before it: billing that turn again (a
    # retry) measures from `before`, so it is never counted twice.
    job_id: PydanticObjectId | None = None
    before: dict[str, StoredModelTotals] | None = None
    updated_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "claude_session_totals"
        indexes = [
            IndexModel([("tenant_id", ASCENDING), ("claude_session_id", ASCENDING)],
                       unique=True),
        ]
