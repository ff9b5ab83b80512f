from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from app.protocol import BillingBasis, ModelUsage, utc_now


class TokenUsageLog(Document):
    """Usage of one turn, upserted by job_id so a retried turn is never counted twice.

    The turn's own figures (README "Billing"): the token fields are the sums of `by_model`,
    `total_cost_usd` the sum of its `cost_usd` (Claude Code's cost of the turn where it
    reported one, else the price table's)."""

    job_id: PydanticObjectId
    tenant_id: str
    project_id: PydanticObjectId
    session_id: str
    claude_session_id: str | None = None
    change_id: str | None = None

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0

    total_cost_usd: float = 0.0
    claude_cost_usd: float | None = None
    priced_cost_usd: float | None = None
    price_version: str | None = None
    unpriced_models: list[str] = Field(default_factory=list)
    unpriced: bool = False
    basis: BillingBasis | None = None
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
