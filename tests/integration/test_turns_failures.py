"""Turns that end badly, on real workers: an API error Claude Code reports, and the idle
watchdog stopping a turn whose claude process went silent."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from redis.asyncio import Redis

from app.models import Job, TokenUsageLog
from tests.integration.conftest import Backend, Worker
from tests.integration.turn_helpers import frames_until_terminal, new_session, queue_turn

pytestmark = pytest.mark.usefixtures("clean_db", "db")

IDLE_TIMEOUT_S = 2.0


async def test_an_api_error_ends_the_turn_as_a_claude_error_with_usage(
    backend: Backend, celery_worker: Worker, backend_redis: Redis, tenant_id: str
) -> None:
    session = await new_session(tenant_id)
    job = await queue_turn(backend.settings, backend_redis, session, "hello #sim:401")
    frames = await frames_until_terminal(backend_redis, str(job.id))
    end = frames[-1]
    assert end["type"] == "session_end", end
    assert (end["is_error"], end["api_error_status"]) == (True, 401)
    stored = await Job.get(job.id)
    assert stored is not None
    assert (stored.state, stored.error_code) == ("failed", "claude_error")
    assert await TokenUsageLog.find_one({"job_id": job.id}) is not None


async def test_a_silent_claude_is_stopped_by_the_idle_watchdog(
    backend: Backend, isolated_redis_url: str, start_worker: Callable[..., Worker],
    tenant_id: str,
) -> None:
    isolated = backend.with_overrides(redis_url=isolated_redis_url)
    worker = start_worker("chat", executor="local", concurrency=1,
                          redis_url=isolated_redis_url, turn_idle_timeout_s=IDLE_TIMEOUT_S)
    iredis = Redis.from_url(isolated_redis_url)
    try:
        session = await new_session(tenant_id)
        job = await queue_turn(isolated.settings, iredis, session, "think #sim:stall")
        started = time.monotonic()
        frames = await frames_until_terminal(iredis, str(job.id), timeout=60)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
        await iredis.aclose()
    end = frames[-1]
    assert (end["type"], end["code"]) == ("error", "timeout"), end
    assert end["usage"]["input_tokens"] > 0  # what the turn used is kept
    assert any(f["type"] == "assistant_chunk" for f in frames)
    assert elapsed < 40, "the simulator stalls for 120 s: only the watchdog ends it sooner"
    stored = await Job.get(job.id)
    assert stored is not None and (stored.state, stored.error_code) == ("failed", "timeout")
