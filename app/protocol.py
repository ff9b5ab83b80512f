"""The wire protocol (DESIGN §4), defined once: the API, the worker, the CLI and the
frontend's generated types all come from these models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from app.errors import ErrorCode
from app.vocab import Context

# How a turn's figures were found (README "Billing"): `first` / `delta` / `reset` from
# Claude Code's running totals in the `result` line, `stream` from the deduplicated
# stream usage of a turn that ended without one.
BillingBasis = Literal["first", "delta", "reset", "stream"]
TERMINAL_FRAME_TYPES = frozenset({"session_end", "error", "cancelled"})
# The largest seq a client may name (JavaScript's largest safe integer; a job never gets
# near it): a resume from beyond it is refused as malformed, never sent to Redis.
SEQ_MAX: Final = 2**53 - 1


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- usage payloads


class Usage(_Model):
    """Token counts of one turn (running totals while it streams)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_tokens: int = 0
    cache_read_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return sum(getattr(self, name) for name in TOKEN_FIELDS)


# The four token counts, in our names: the one definition every sum and report uses.
TOKEN_FIELDS: Final = tuple(Usage.model_fields)


class ModelUsage(Usage):
    """One model's share of a turn and what it cost."""

    cost_usd: float = Field(default=0.0, description="the cost counted for this share: Claude "
                            "Code's when it reported one, else priced from the price table")
    claude_cost_usd: float | None = Field(default=None, description="Claude Code's estimate")
    priced_cost_usd: float | None = Field(
        default=None, description="recomputed from the price table; None: model not in it")


class UsageSummary(Usage):
    """Usage of a turn. Once billed (`basis` set) it is the turn's own: the token fields are
    the sums of `by_model`, `total_cost_usd` the sum of its `cost_usd`."""

    total_cost_usd: float = 0.0
    by_model: dict[str, ModelUsage] = Field(default_factory=dict)
    partial: bool = False
    claude_cost_usd: float | None = Field(
        default=None, description="Claude Code's cost of this turn (None: it reported none)")
    priced_cost_usd: float | None = Field(
        default=None, description="the turn priced with the price table (None: a model of it "
        "is not in the table, see unpriced_models)")
    price_version: str | None = None
    unpriced_models: list[str] = Field(default_factory=list)
    basis: BillingBasis | None = None


# ---------------------------------------------------------------- server -> client


class _ServerFrame(_Model):
    # seq is assigned when the frame is published (1, 2, 3... per job, no gaps);
    # frames that are not about a job (pong, a refused client frame) carry seq 0.
    job_id: str | None = None
    seq: int = 0
    ts: datetime = Field(default_factory=utc_now)


class JobQueuedFrame(_ServerFrame):
    type: Literal["job_queued"] = "job_queued"
    session_id: str
    position: int = Field(description="turns ahead of this one in its session")


class JobStartedFrame(_ServerFrame):
    type: Literal["job_started"] = "job_started"
    model: str
    claude_session_id: str


class AssistantChunkFrame(_ServerFrame):
    type: Literal["assistant_chunk"] = "assistant_chunk"
    content: str
    message_id: str
    replaces: str | None = Field(
        default=None,
        description="message_id of a failed attempt (a mid-stream API failure that Claude Code "
        "retried) whose text this message supersedes: the UI drops that message's text",
    )


class ToolUseFrame(_ServerFrame):
    type: Literal["tool_use"] = "tool_use"
    tool: str
    input: dict[str, Any]
    tool_use_id: str


class ToolResultFrame(_ServerFrame):
    type: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    is_error: bool = False
    content: str
    truncated: bool = False


class UsageFrame(Usage, _ServerFrame):
    type: Literal["usage"] = "usage"


class RateLimitFrame(_ServerFrame):
    type: Literal["rate_limit"] = "rate_limit"
    status: str
    resets_at: int | None = Field(default=None, description="unix seconds")
    limit_type: str | None = None


class ProgressFrame(_ServerFrame):
    """Claude Code is retrying an API call (`system/api_retry`), or the turn goes on in a new
    Claude session because the one it resumed is not on this worker host
    (`session_restarted`)."""

    type: Literal["progress"] = "progress"
    kind: Literal["api_retry", "session_restarted"] = "api_retry"
    attempt: int = 0
    max_retries: int = 0
    retry_delay_ms: int | None = None
    error_status: int | None = None
    message: str


class SessionEndFrame(_ServerFrame):
    type: Literal["session_end"] = "session_end"
    total_cost_usd: float
    usage_summary: UsageSummary
    duration_ms: int
    num_turns: int
    is_error: bool
    result: str
    subtype: str | None = None
    api_error_status: int | None = None
    terminal_reason: str | None = None


class ErrorFrame(_ServerFrame):
    type: Literal["error"] = "error"
    code: ErrorCode
    message: str
    details: dict[str, Any] = Field(default_factory=dict)
    usage: UsageSummary | None = None


class CancelledFrame(_ServerFrame):
    type: Literal["cancelled"] = "cancelled"
    usage: UsageSummary


ChangeStatus = Literal["added", "modified", "deleted"]


class ChangedFile(_Model):
    """A file a turn added, modified or deleted in the workspace (from its git commit)."""

    path: str
    status: ChangeStatus
    additions: int | None = Field(default=None, description="lines added (None: binary)")
    deletions: int | None = Field(default=None, description="lines deleted (None: binary)")


class FilesChangedFrame(_ServerFrame):
    """What the turn changed in the workspace; sent just before the terminal frame, once the
    runner has committed the turn (GET /api/jobs/{id}/changes has the diffs)."""

    type: Literal["files_changed"] = "files_changed"
    commit: str
    files: list[ChangedFile] = Field(description="the first `max` changed files, by path")
    total: int = Field(description="how many files the turn changed")
    truncated: bool = False


class PongFrame(_ServerFrame):
    type: Literal["pong"] = "pong"


ServerFrame = Annotated[
    JobQueuedFrame
    | JobStartedFrame
    | AssistantChunkFrame
    | ToolUseFrame
    | ToolResultFrame
    | UsageFrame
    | RateLimitFrame
    | ProgressFrame
    | FilesChangedFrame
    | SessionEndFrame
    | ErrorFrame
    | CancelledFrame
    | PongFrame,
    Field(discriminator="type"),
]
server_frame_adapter: TypeAdapter[ServerFrame] = TypeAdapter(ServerFrame)


# ---------------------------------------------------------------- client -> server


class MessageFrame(_Model):
    type: Literal["message"] = "message"
    content: str = Field(min_length=1, max_length=100_000)
    context: Context = Context.ANALYSIS
    session_id: str | None = None


class CancelFrame(_Model):
    type: Literal["cancel"] = "cancel"
    job_id: str | None = None


class ResumeFrame(_Model):
    type: Literal["resume"] = "resume"
    job_id: str
    after_seq: int = Field(default=0, ge=0, le=SEQ_MAX)


class PingFrame(_Model):
    type: Literal["ping"] = "ping"


ClientFrame = Annotated[
    MessageFrame | CancelFrame | ResumeFrame | PingFrame, Field(discriminator="type")
]
client_frame_adapter: TypeAdapter[ClientFrame] = TypeAdapter(ClientFrame)


def is_terminal(frame_type: str) -> bool:
    return frame_type in TERMINAL_FRAME_TYPES


__all__ = [
    "SEQ_MAX",
    "TERMINAL_FRAME_TYPES",
    "TOKEN_FIELDS",
    "AssistantChunkFrame",
    "BillingBasis",
    "CancelFrame",
    "CancelledFrame",
    "ChangeStatus",
    "ChangedFile",
    "ClientFrame",
    "ErrorFrame",
    "FilesChangedFrame",
    "JobQueuedFrame",
    "JobStartedFrame",
    "MessageFrame",
    "ModelUsage",
    "PingFrame",
    "PongFrame",
    "ProgressFrame",
    "RateLimitFrame",
    "ResumeFrame",
    "ServerFrame",
    "SessionEndFrame",
    "ToolResultFrame",
    "ToolUseFrame",
    "Usage",
    "UsageFrame",
    "UsageSummary",
    "client_frame_adapter",
    "is_terminal",
    "server_frame_adapter",
    "utc_now",
]
