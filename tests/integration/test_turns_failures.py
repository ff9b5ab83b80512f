"""Turns that end badly, on real workers: an API error Claude Code reports, and the idle
watchdog stopping a turn whose claude process went silent."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app.models import Job, TokenUsageLog
from tests.integration.turn_helpers import frames_until_terminal, new_session, queue_turn
from tests.stack import Backend, Worker

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


async def test_a_turn_the_worker_cannot_run_ends_with_a_precise_error_at_once(
    backend: Backend, celery_worker: Worker, backend_redis: Redis
) -> None:
    """A job no sandbox can hold (a tenant id only the API's checks would have refused):
    the worker ends it with `bad_request` right away, never leaves it running."""
    session = await new_session("bad/../tenant")
    job = await queue_turn(backend.settings, backend_redis, session, "hello #sim:text")
    started = time.monotonic()
    frames = await frames_until_terminal(backend_redis, str(job.id), timeout=30)
    end = frames[-1]
    assert (end["type"], end["code"]) == ("error", "bad_request"), end
    assert time.monotonic() - started < 10, "not ended at once"
    stored = await Job.get(job.id)
    assert stored is not None and (stored.state, stored.error_code) == ("failed", "bad_request")


async def test_an_ending_left_in_the_outbox_is_finished_by_the_next_worker(
    backend: Backend, isolated_redis_url: str, start_worker: Callable[..., Worker],
    tenant_id: str, tmp_path: Path,
) -> None:
    """A worker died after the claude run, before MongoDB took the end of the turn: the
    ending waits in <data_dir>/outbox, and a worker started on that host finishes it."""
    from app.models import ChatMessage
    from app.protocol import SessionEndFrame, UsageSummary, utc_now
    from app.services.outbox import Outbox
    from app.services.turn_lifecycle import EndKind, TurnEnding
    from app.vocab import JobState

    data_dir = tmp_path / "host"
    isolated = backend.with_overrides(redis_url=isolated_redis_url, data_dir=str(data_dir))
    redis = Redis.from_url(isolated_redis_url)
    session = await new_session(tenant_id)
    job = await queue_turn(isolated.settings, redis, session, "unused")
    await Job.get_pymongo_collection().update_one(
        {"_id": job.id}, {"$set": {"state": JobState.RUNNING, "worker": "gone:1",
                                   "started_at": utc_now(), "heartbeat_at": utc_now()}})
    usage = UsageSummary(input_tokens=12, output_tokens=34, total_cost_usd=0.5)
    end = SessionEndFrame(job_id=str(job.id), total_cost_usd=0.5, usage_summary=usage,
                          duration_ms=10, num_turns=1, is_error=False, result="done")
    entry = Outbox(data_dir / "outbox").put(str(job.id), TurnEnding(
        job_id=str(job.id), kind=EndKind.FINISHED, state=JobState.SUCCEEDED, frames=[end],
        producer="run", usage=usage, assistant_text="done"))
    assert entry is not None
    entry.release()  # the worker that wrote it is gone
    worker = start_worker("chat", executor="local", redis_url=isolated_redis_url,
                          data_dir=str(data_dir))
    try:
        frames = await frames_until_terminal(redis, str(job.id), timeout=30)
    finally:
        worker.stop()
        await redis.aclose()
    assert frames[-1]["type"] == "session_end" and frames[-1]["result"] == "done"
    stored = await Job.get(job.id)
    assert stored is not None and stored.state == "succeeded"
    logs = await TokenUsageLog.find({"job_id": job.id}).to_list()
    assert [(log.input_tokens, log.output_tokens) for log in logs] == [(12, 34)]
    answer = await ChatMessage.find_one({"job_id": job.id, "role": "assistant"})
    assert answer is not None and answer.content == "done"
    assert not list((data_dir / "outbox").glob("*.json"))


async def test_a_session_missing_on_this_host_goes_on_in_a_new_claude_session(
    backend: Backend, celery_worker: Worker, backend_redis: Redis, tenant_id: str
) -> None:
    """The chat session names a Claude session this host's config dir does not have (the
    tenant moved hosts, its volume is new): Claude Code cannot resume it, so the turn runs
    again in a new Claude session, says so, and the chat session follows the new one."""
    import uuid

    from app.models import ChatSession

    session = await new_session(tenant_id)
    await session.set({"claude_session_id": str(uuid.uuid4())})
    job = await queue_turn(backend.settings, backend_redis, session, "still there? #sim:text")
    frames = await frames_until_terminal(backend_redis, str(job.id), timeout=60)
    kinds = [f.get("kind") for f in frames if f["type"] == "progress"]
    assert "session_restarted" in kinds, [f["type"] for f in frames]
    end = frames[-1]
    assert end["type"] == "session_end" and not end["is_error"], end
    started = next(f for f in frames if f["type"] == "job_started")
    stored = await ChatSession.get(session.id)
    assert stored is not None and stored.claude_session_id == started["claude_session_id"]
