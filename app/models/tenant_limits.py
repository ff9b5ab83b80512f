from beanie import Document
from pymongo import ASCENDING, IndexModel


class TenantLimits(Document):
    """Per-tenant overrides of the subscription limits in Settings (None = the default)."""

    tenant_id: str
    running_turns: int | None = None
    queued_turns: int | None = None
    tokens_per_day: int | None = None
    cost_per_month_usd: float | None = None

    class Settings:
        name = "tenant_limits"
        indexes = [IndexModel([("tenant_id", ASCENDING)], unique=True)]
