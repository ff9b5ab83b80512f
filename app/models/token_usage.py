from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from app.protocol import ModelUsage, utc_now


class TokenUsageLog(Document):
    """Usage of one turn, upserted by job_id so a retried turn is never counted twice."""

    job_id: PydanticObjectId
    tenant_id: str
    project_id: PydanticObjectId
    session_id: str
    change_id: str | None = None

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0

    total_cost_usd: float = 0.0
    model: str = ""
    by_model: dict[str, ModelUsage] = Field(default_factory=dict)
    partial: bool = False

    created_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "token_usage_logs"
        indexes = [
            IndexModel([("job_id", ASCENDING)], unique=True),
            IndexModel([("tenant_id", ASCENDING), ("project_id", ASCENDING)]),
            IndexModel([("created_at", DESCENDING)]),
            IndexModel([("tenant_id", ASCENDING), ("created_at", DESCENDING)]),
        ]
