"""Beanie documents (MongoDB). References are plain ObjectId fields, never `Link`
(SecantusDB does not resolve DBRef paths)."""

from app.models.billing import ClaudeSessionTotals
from app.models.chat import ChatMessage, ChatSession
from app.models.credential import TenantCredential
from app.models.job import Job
from app.models.project import Project
from app.models.security_event import SecurityEvent
from app.models.tenant_limits import TenantLimits
from app.models.token_usage import TokenUsageLog
from app.models.webhook import DeliveryAttempt, Webhook, WebhookDelivery

DOCUMENT_MODELS = [
    Project,
    ChatSession,
    ChatMessage,
    Job,
    TokenUsageLog,
    SecurityEvent,
    TenantLimits,
    ClaudeSessionTotals,
    Webhook,
    WebhookDelivery,
    TenantCredential,
]

__all__ = [
    "DOCUMENT_MODELS",
    "ChatMessage",
    "ChatSession",
    "ClaudeSessionTotals",
    "DeliveryAttempt",
    "Job",
    "Project",
    "SecurityEvent",
    "TenantCredential",
    "TenantLimits",
    "TokenUsageLog",
    "Webhook",
    "WebhookDelivery",
]
