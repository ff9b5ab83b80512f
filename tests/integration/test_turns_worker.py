"""The chat-turn task on real workers, queued straight into Mongo (no API in the way)."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from app.models import Job
from tests.integration.turn_helpers import frames_until_terminal, new_session, queue_turn
from tests.stack import Backend, Worker

pytestmark = pytest.mark.usefixtures("clean_db", "db")


async def test_docker_turn_streams(
    backend: Backend, celery_worker: Worker, backend_redis: Redis, tenant_id: str
) -> None:
    session = await new_session(tenant_id)
    job = await queue_turn(backend.settings, backend_redis, session, "hello #sim:text")
    frames = await frames_until_terminal(backend_redis, str(job.id))
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert frames[-1]["type"] == "session_end", frames[-1]
    assert frames[-1]["is_error"] is False


async def test_turns_of_a_session_run_in_order_and_resume(
    backend: Backend, celery_worker: Worker, backend_redis: Redis, tenant_id: str
) -> None:
    session = await new_session(tenant_id)
    first = await queue_turn(backend.settings, backend_redis, session, "first #sim:text")
    second = await queue_turn(backend.settings, backend_redis, session, "second #sim:text")
    first_frames = await frames_until_terminal(backend_redis, str(first.id))
    second_frames = await frames_until_terminal(backend_redis, str(second.id))
    a, b = await Job.get(first.id), await Job.get(second.id)
    assert second_frames[-1]["type"] == "session_end", second_frames[-1]
    assert not second_frames[-1]["is_error"], second_frames[-1]
    assert a is not None and b is not None and (a.state, b.state) == ("succeeded", "succeeded")
    assert a.finished_at is not None and b.started_at is not None
    assert b.started_at >= a.finished_at, "the second turn started before the first ended"
    started = next(f for f in second_frames if f["type"] == "job_started")
    assert started["claude_session_id"] == first_frames[1]["claude_session_id"]
    # The simulator counts 13 input tokens per message it was sent: the resumed turn
    # carried the first turn's user and assistant messages too.
    assert a.usage is not None and b.usage is not None
    assert (b.usage.input_tokens - a.usage.input_tokens) >= 2 * 13, (a.usage, b.usage)
