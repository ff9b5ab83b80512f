"""The simulator's HTTP app: enough of the Anthropic Messages API for Claude Code."""

from __future__ import annotations

import hashlib
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from app.pricing import PriceTable, load_price_table
from workers.simulator.billing import bill, billed_summary
from workers.simulator.events import Meter, error_body, full_message, stream_message
from workers.simulator.scenarios import Plan, plan_for

log = logging.getLogger("wx.simulator")

RATE_LIMIT_RESET_S = 3600
_LOG_SIZE = 5000
SESSION_HEADER = "x-claude-code-session-id"  # Claude Code's session id, on every request
AGENT_HEADER = "x-claude-code-agent-id"  # set on a subagent's requests


class SimState:
    """What the simulator remembers: the requests it served and billed, midfails done."""

    def __init__(self, chars_per_s: float, prices: PriceTable) -> None:
        self.chars_per_s = chars_per_s
        self.prices = prices
        self.failed: set[str] = set()
        self.served: deque[dict[str, Any]] = deque(maxlen=_LOG_SIZE)
        self.seq = 0


def _authorized(request: Request) -> bool:
    auth = request.headers.get("authorization", "")
    return bool(request.headers.get("x-api-key")) or auth.lower().startswith("bearer ")


def credential_seen(request: Request) -> dict[str, str] | None:
    """Which credential a request carried, for tests: its header, a hash and its last 4
    characters, never the value (the served log is readable by any local process)."""
    value, header = request.headers.get("x-api-key"), "x-api-key"
    if not value:
        auth, header = request.headers.get("authorization", ""), "authorization"
        value = auth[7:] if auth.lower().startswith("bearer ") else ""
    if not value:
        return None
    return {"header": header, "sha256": hashlib.sha256(value.encode()).hexdigest()[:16],
            "last4": value[-4:]}


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


def _selected(request: Request) -> list[dict[str, Any]]:
    """The served log, filtered by `?after=<seq>` and `?session=<Claude session id>`."""
    state: SimState = request.app.state.sim
    after = int(request.query_params.get("after") or 0)
    session = request.query_params.get("session")
    return [e for e in state.served
            if e["seq"] > after and (session is None or e["session_id"] == session)]


async def served(request: Request) -> Response:
    """Test helper: what the simulator answered and billed, oldest first."""
    return JSONResponse(_selected(request))


async def billed(request: Request) -> Response:
    """Test helper: what the simulator billed (USD, per model) for the selected requests."""
    state: SimState = request.app.state.sim
    return JSONResponse({**billed_summary(_selected(request)), "last_seq": state.seq,
                         "price_version": state.prices.version})


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
    entry = _record(state, plan, model, stream, request)
    if plan.error_status is not None:
        headers = rate_limit_headers() if plan.error_status == 429 else None
        return _error(plan.error_status, headers=headers)
    if not stream:
        bill(entry, plan, state.prices, Meter(finished=True))
        return JSONResponse(full_message(plan, model))
    return StreamingResponse(
        _billed_stream(state, entry, plan, model),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", "request-id": "req_sim"},
    )


async def _billed_stream(state: SimState, entry: dict[str, Any], plan: Plan,
                         model: str) -> AsyncIterator[bytes]:
    """The streamed answer, billed for what was sent when it ends or the client leaves."""
    meter = Meter()
    try:
        async for chunk in stream_message(plan, model, state.chars_per_s, meter):
            yield chunk
    finally:
        bill(entry, plan, state.prices, meter)


def _midfail_once(state: SimState, plan: Plan, body: dict[str, Any], stream: bool) -> Plan:
    """A midfail breaks the first streaming attempt of a conversation, not its retry."""
    if not plan.midfail:
        return plan
    key = hashlib.sha256(orjson.dumps(body.get("messages"))).hexdigest()
    if stream and key not in state.failed:
        state.failed.add(key)
        return plan
    return Plan(**{**plan.__dict__, "midfail": False})


def _record(state: SimState, plan: Plan, model: str, stream: bool,
            request: Request) -> dict[str, Any]:
    state.seq += 1
    entry: dict[str, Any] = {
        "seq": state.seq, "scenario": plan.scenario, "side": plan.side, "model": model,
        "stream": stream, "midfail": plan.midfail, "error_status": plan.error_status,
        "usage": plan.usage, "session_id": request.headers.get(SESSION_HEADER),
        "agent_id": request.headers.get(AGENT_HEADER),
        "credential": credential_seen(request),
        "billed_usage": None, "billed_usd": 0.0 if plan.error_status else None,
        "priced": True,
    }
    state.served.append(entry)
    log.info("messages %s", orjson.dumps(entry).decode())
    return entry


async def fallback(request: Request) -> Response:
    log.info("unhandled %s %s", request.method, request.url.path)
    return _error(404, f"Not found: {request.url.path}")


def create_app(*, chars_per_s: float = 2000.0, prices: PriceTable | None = None) -> Starlette:
    """The simulator as an ASGI app; it bills each request with `prices` (default: the
    packaged price table)."""
    app = Starlette(routes=[
        Route("/", root, methods=["GET", "HEAD"]),
        Route("/_sim/served", served, methods=["GET"]),
        Route("/_sim/billed", billed, methods=["GET"]),
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count_tokens, methods=["POST"]),
        Route("/{path:path}", fallback, methods=["GET", "POST", "PUT", "DELETE", "HEAD"]),
    ])
    app.state.sim = SimState(chars_per_s, prices or load_price_table())
    return app
