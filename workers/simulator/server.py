"""The simulator's HTTP app: enough of the Anthropic Messages API for Claude Code."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import deque
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from workers.simulator.events import error_body, full_message, stream_message
from workers.simulator.scenarios import Plan, plan_for

log = logging.getLogger("wx.simulator")

RATE_LIMIT_RESET_S = 3600
_LOG_SIZE = 200


class SimState:
    """What the simulator remembers: the requests it served, and midfails already done."""

    def __init__(self, chars_per_s: float) -> None:
        self.chars_per_s = chars_per_s
        self.failed: set[str] = set()
        self.served: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)


def _authorized(request: Request) -> bool:
    auth = request.headers.get("authorization", "")
    return bool(request.headers.get("x-api-key")) or auth.lower().startswith("bearer ")


def _error(
    status: int, message: str | None = None, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(error_body(status, message), status_code=status, headers=headers)


def rate_limit_headers(now: float | None = None) -> dict[str, str]:
    """The headers of a subscription 429: when it resets and which limit it is."""
    reset = str(math.ceil((now or time.time()) / 3600) * 3600 + RATE_LIMIT_RESET_S)
    return {
        "retry-after": "30",
        "anthropic-ratelimit-unified-status": "rejected",
        "anthropic-ratelimit-unified-reset": reset,
        "anthropic-ratelimit-unified-representative-claim": "five_hour",
        "anthropic-ratelimit-unified-5h-status": "rejected",
        "anthropic-ratelimit-unified-5h-reset": reset,
        "anthropic-ratelimit-unified-5h-utilization": "1.0",
        "anthropic-ratelimit-unified-fallback-percentage": "0.5",
    }


async def root(request: Request) -> Response:
    return JSONResponse({"simulator": "wxcode", "ok": True})


async def served(request: Request) -> Response:
    """Test helper: what the simulator answered, newest last."""
    state: SimState = request.app.state.sim
    return JSONResponse(list(state.served))


async def count_tokens(request: Request) -> Response:
    if not _authorized(request):
        return _error(401, "x-api-key header is required")
    body = await request.body()
    return JSONResponse({"input_tokens": max(1, len(body) // 4)})


async def messages(request: Request) -> Response:
    if not _authorized(request):
        return _error(401, "x-api-key header is required")
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _error(400, "request body is not JSON")
    state: SimState = request.app.state.sim
    plan = plan_for(body)
    model = str(body.get("model") or "claude-sim")
    stream = bool(body.get("stream"))
    plan = _midfail_once(state, plan, body, stream)
    _record(state, plan, model, stream)
    if plan.error_status is not None:
        headers = rate_limit_headers() if plan.error_status == 429 else None
        return _error(plan.error_status, headers=headers)
    if not stream:
        return JSONResponse(full_message(plan, model))
    return StreamingResponse(
        stream_message(plan, model, state.chars_per_s),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "request-id": "req_sim"},
    )


def _midfail_once(state: SimState, plan: Plan, body: dict[str, Any], stream: bool) -> Plan:
    """A midfail breaks the first streaming attempt of a conversation, not its retry."""
    if not plan.midfail:
        return plan
    key = hashlib.sha256(orjson.dumps(body.get("messages"))).hexdigest()
    if stream and key not in state.failed:
        state.failed.add(key)
        return plan
    return Plan(**{**plan.__dict__, "midfail": False})


def _record(state: SimState, plan: Plan, model: str, stream: bool) -> None:
    entry = {"scenario": plan.scenario, "side": plan.side, "model": model, "stream": stream,
             "midfail": plan.midfail, "error_status": plan.error_status, "usage": plan.usage}
    state.served.append(entry)
    log.info("messages %s", orjson.dumps(entry).decode())


async def fallback(request: Request) -> Response:
    log.info("unhandled %s %s", request.method, request.url.path)
    return _error(404, f"Not found: {request.url.path}")


def create_app(*, chars_per_s: float = 2000.0) -> Starlette:
    """The simulator as an ASGI app."""
    app = Starlette(routes=[
        Route("/", root, methods=["GET", "HEAD"]),
        Route("/_sim/served", served, methods=["GET"]),
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/{path:path}", fallback, methods=["GET", "POST", "PUT", "DELETE", "HEAD"]),
    ])
    app.state.sim = SimState(chars_per_s)
    return app
