"""Public request/response models of the REST API (the XCreate/XPublic ladder)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.errors import ErrorCode
from app.models import ChatMessage, ChatSession, DeliveryAttempt, Job, Project, Webhook
from app.models import WebhookDelivery as Delivery
from app.protocol import UsageSummary
from app.services.limit_outlook import LimitWarning, MonthOutlook
from app.services.limits import LimitValues, TenantUse
from app.services.usage import UsageReport, UsageRow, UsageTable
from app.vocab import Context, DeliveryState, JobState, WebhookEvent

__all__ = [
    "ChatAccepted",
    "ChatCreate",
    "ErrorBody",
    "HealthPublic",
    "JobPublic",
    "LimitsPublic",
    "MessagePublic",
    "ProjectCreate",
    "ProjectPublic",
    "ReadyPublic",
    "SessionPublic",
    "UsageReport",
    "UsageRow",
    "UsageTable",
    "WebhookCreate",
    "WebhookCreated",
    "WebhookDeliveryPublic",
    "WebhookPublic",
]


class ErrorBody(BaseModel):
    """Every error: a stable code, a message for a person, details."""

    code: ErrorCode
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class ProjectBase(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class ProjectCreate(ProjectBase):
    pass


class ProjectPublic(ProjectBase):
    id: str
    created_at: datetime

    @classmethod
    def of(cls, project: Project) -> ProjectPublic:
        return cls(id=str(project.id), name=project.name, created_at=project.created_at)


class ChatCreate(BaseModel):
    """A user message (the WebSocket `message` frame without `type`)."""

    content: str = Field(min_length=1, max_length=100_000)
    context: Context = Context.ANALYSIS
    session_id: str | None = None


class ChatAccepted(BaseModel):
    job_id: str
    session_id: str
    status_url: str
    events_url: str


class JobPublic(BaseModel):
    id: str
    project_id: str
    session_id: str
    context: Context
    queue: str
    state: JobState
    error_code: str | None
    error_message: str | None
    usage: UsageSummary | None
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, job: Job) -> JobPublic:
        return cls(
            id=str(job.id), project_id=str(job.project_id), session_id=str(job.session_id),
            **job.model_dump(include={
                "context", "queue", "state", "error_code", "error_message", "usage",
                "cancel_requested", "created_at", "started_at", "finished_at"}),
        )


class SessionPublic(BaseModel):
    id: str
    project_id: str
    context: Context
    title: str
    created_at: datetime
    last_active_at: datetime

    @classmethod
    def of(cls, session: ChatSession) -> SessionPublic:
        return cls(id=str(session.id), project_id=str(session.project_id), context=session.context,
                   title=session.title, created_at=session.created_at,
                   last_active_at=session.last_active_at)


class MessagePublic(BaseModel):
    id: str
    role: str
    content: str
    job_id: str | None
    created_at: datetime

    @classmethod
    def of(cls, message: ChatMessage) -> MessagePublic:
        return cls(id=str(message.id), role=message.role, content=message.content,
                   job_id=str(message.job_id) if message.job_id else None,
                   created_at=message.created_at)


class LimitsPublic(BaseModel):
    limits: LimitValues
    use: TenantUse
    warn_share: float = Field(description="the share of a limit past which the UI warns")
    warnings: list[LimitWarning]
    month: MonthOutlook


class SigninCode(BaseModel):
    code: str = Field(min_length=1, max_length=128)


class SigninToken(BaseModel):
    token: str
    tenant_id: str


class HealthPublic(BaseModel):
    status: str = "ok"


class ReadyPublic(BaseModel):
    status: str
    checks: dict[str, str]


class WebhookCreate(BaseModel):
    url: str = Field(min_length=8, max_length=2000, description="http(s) endpoint to POST to")
    events: list[WebhookEvent] = Field(min_length=1, description="which job endings to send")


class WebhookPublic(BaseModel):
    id: str
    url: str
    events: list[WebhookEvent]
    created_at: datetime

    @classmethod
    def of(cls, hook: Webhook) -> WebhookPublic:
        return cls(id=str(hook.id), url=hook.url, events=hook.events, created_at=hook.created_at)


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="the HMAC-SHA256 key of the X-Wx-Signature header "
                        "(`sha256=<hex>` over the body); shown only now")

    @classmethod
    def of(cls, hook: Webhook) -> WebhookCreated:
        return cls(**WebhookPublic.of(hook).model_dump(), secret=hook.secret)


class WebhookDeliveryPublic(BaseModel):
    id: str
    event: WebhookEvent
    job_id: str
    state: DeliveryState
    attempts: list[DeliveryAttempt]
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, delivery: Delivery) -> WebhookDeliveryPublic:
        pending = delivery.state == DeliveryState.PENDING
        return cls(id=str(delivery.id), event=delivery.event, job_id=str(delivery.job_id),
                   state=delivery.state, attempts=delivery.attempts,
                   next_attempt_at=delivery.next_attempt_at if pending else None,
                   created_at=delivery.created_at, delivered_at=delivery.delivered_at)
