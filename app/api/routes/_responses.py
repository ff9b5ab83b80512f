"""OpenAPI error responses shared by the routes."""

from __future__ import annotations

from typing import Any

from app.api.schemas import ErrorBody

__all__ = ["errors"]

_DESCRIPTIONS = {
    400: "Malformed request (`bad_request`)",
    401: "Missing or invalid bearer token (`unauthorized`)",
    404: "Not found, or not the caller's tenant (`not_found`)",
    409: "Not in the current state (`conflict`: e.g. a turn of the project is running; "
         "`no_credentials`: no Claude credential linked and no shared fallback)",
    422: "Blocked by the guardrail (`input_blocked`)",
    429: "A subscription limit refuses it (`limit_exceeded`; see Retry-After)",
    503: "A dependency is unavailable",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the given statuses (400 and 401 always)."""
    return {s: {"model": ErrorBody, "description": _DESCRIPTIONS[s]}
            for s in sorted({400, 401, *statuses})}
