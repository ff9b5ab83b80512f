from datetime import datetime

from beanie import Document, PydanticObjectId
from pydantic import BaseModel, Field
from pymongo import ASCENDING, DESCENDING, IndexModel

from app.protocol import utc_now
from app.vocab import DeliveryState, WebhookEvent


class Webhook(Document):
    """A tenant's endpoint told when its jobs end; deliveries are signed with `secret`."""

    tenant_id: str
    url: str
    events: list[WebhookEvent]
    secret: str  # HMAC-SHA256 key of the signature (shown to the tenant once, at creation)
    created_at: datetime = Field(default_factory=utc_now)

    class Settings:
        name = "webhooks"
        indexes = [IndexModel([("tenant_id", ASCENDING), ("events", ASCENDING)])]


class DeliveryAttempt(BaseModel):
    at: datetime
    status_code: int | None = None
    error: str | None = None
    duration_ms: int = 0


class WebhookDelivery(Document):
    """One event for one webhook: its exact body (signed as is), and every attempt."""

    tenant_id: str
    webhook_id: PydanticObjectId
    event: WebhookEvent
    job_id: PydanticObjectId
    body: str
    state: DeliveryState = DeliveryState.PENDING
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
    next_attempt_at: datetime = Field(default_factory=utc_now)
    lease_until: datetime | None = None  # a sender is on it until then
    created_at: datetime = Field(default_factory=utc_now)
    delivered_at: datetime | None = None

    class Settings:
        name = "webhook_deliveries"
        indexes = [
            IndexModel([("webhook_id", ASCENDING), ("job_id", ASCENDING), ("event", ASCENDING)],
                       unique=True),
            IndexModel([("state", ASCENDING), ("next_attempt_at", ASCENDING)]),
            IndexModel([("webhook_id", ASCENDING), ("created_at", DESCENDING)]),
        ]
