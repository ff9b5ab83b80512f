"""Stable error codes and the typed errors that carry them (DESIGN §4)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    INPUT_BLOCKED = "input_blocked"
    LIMIT_EXCEEDED = "limit_exceeded"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"
    UNAUTHORIZED = "unauthorized"
    EXECUTOR_FAILED = "executor_failed"
    CLAUDE_ERROR = "claude_error"
    WORKER_LOST = "worker_lost"
    WORKER_SHUTDOWN = "worker_shutdown"
    TIMEOUT = "timeout"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"
    # The tenant linked no Claude credential and the shared fallback is off.
    NO_CREDENTIALS = "no_credentials"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INPUT_BLOCKED: 422,
    ErrorCode.LIMIT_EXCEEDED: 429,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.EXECUTOR_FAILED: 502,
    ErrorCode.CLAUDE_ERROR: 502,
    ErrorCode.WORKER_LOST: 500,
    ErrorCode.WORKER_SHUTDOWN: 503,
    ErrorCode.TIMEOUT: 504,
    ErrorCode.CONFLICT: 409,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL: 500,
    ErrorCode.NO_CREDENTIALS: 409,
}

WS_CLOSE_POLICY_VIOLATION = 1008


class AppError(Exception):
    """Base of every error a client may see; `code` is stable, `message` is for a person."""

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


class InputBlocked(AppError):
    code = ErrorCode.INPUT_BLOCKED

    def __init__(
        self, rule: str, message: str = "This message was blocked by the guardrail."
    ) -> None:
        super().__init__(message, rule=rule)
        self.rule = rule


class LimitExceeded(AppError):
    code = ErrorCode.LIMIT_EXCEEDED

    def __init__(self, message: str, *, limit: str, retry_after_s: int) -> None:
        super().__init__(message, limit=limit, retry_after_s=retry_after_s)
        self.limit = limit
        self.retry_after_s = retry_after_s


class NotFound(AppError):
    code = ErrorCode.NOT_FOUND

    def __init__(self, what: str = "Resource") -> None:
        super().__init__(f"{what} not found")


class BadRequest(AppError):
    code = ErrorCode.BAD_REQUEST


class Unauthorized(AppError):
    code = ErrorCode.UNAUTHORIZED


class Unavailable(AppError):
    """Redis or MongoDB cannot be reached right now; the request may be sent again."""

    code = ErrorCode.UNAVAILABLE

    def __init__(self, message: str = "The service is briefly unavailable; try again.") -> None:
        super().__init__(message)


class ExecutorFailed(AppError):
    code = ErrorCode.EXECUTOR_FAILED


class Conflict(AppError):
    """The request cannot be served in the resource's current state (e.g. a turn runs)."""

    code = ErrorCode.CONFLICT


class NoCredentials(AppError):
    """A turn of a tenant with no Claude credential of its own, the shared one switched off."""

    code = ErrorCode.NO_CREDENTIALS

    def __init__(self, message: str = "No Claude credential is linked to this account: link "
                 "a subscription token or an API key in Settings (/settings).") -> None:
        super().__init__(message)


class RemoteError(AppError):
    """An AppError raised in another process (a worker) and sent back by its code."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message, **details)
        try:
            self.code = ErrorCode(code)
        except ValueError:
            self.code = ErrorCode.INTERNAL
