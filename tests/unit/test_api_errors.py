"""Error mapping: every AppError answers `{code, message, details}` with its status."""

from __future__ import annotations

import orjson
import pytest

from app.api.errors import error_response
from app.errors import (
    HTTP_STATUS,
    AppError,
    BadRequest,
    ErrorCode,
    InputBlocked,
    LimitExceeded,
    NotFound,
    Unauthorized,
)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (NotFound("Job"), 404, "not_found"),
        (BadRequest("nope"), 400, "bad_request"),
        (Unauthorized("no"), 401, "unauthorized"),
        (InputBlocked(rule="slash_command"), 422, "input_blocked"),
        (LimitExceeded("x", limit="running_turns", retry_after_s=9), 429, "limit_exceeded"),
    ],
)
def test_status_and_body(error: AppError, status: int, code: str) -> None:
    response = error_response(error)
    body = orjson.loads(response.body)
    assert response.status_code == status == HTTP_STATUS[ErrorCode(code)]
    assert body["code"] == code
    assert body["message"] == error.message
    assert body["details"] == error.details


def test_limit_exceeded_sets_retry_after() -> None:
    response = error_response(LimitExceeded("x", limit="queued_turns", retry_after_s=42))
    assert response.headers["Retry-After"] == "42"


def test_internal_error_message_is_generic() -> None:
    body = orjson.loads(error_response(AppError("db password is hunter2")).body)
    assert body == {"code": "internal", "message": "Internal error", "details": {}}
