from datetime import datetime

from beanie import Document
from pydantic import Field
from pymongo import ASCENDING, IndexModel

from app.protocol import utc_now


class SecurityEvent(Document):
    """A blocked input: which rule, whose, when, and a hash of the input (never the input)."""

    tenant_id: str
    subject: str
    rule: str
    input_sha256: str
    project_id: str | None = None
    created_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "security_events"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("created_at", ASCENDING)])]
