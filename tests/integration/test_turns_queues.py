"""Queues and lost workers, on a broker of their own (no session-wide worker on it)."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from redis.asyncio import Redis

from app.models import ChatSession, Job, TokenUsageLog
from app.taskqueue import CHAT_TURN_TASK, make_celery
from tests.helpers import wait_until
from tests.integration.turn_helpers import (
    frames_until_terminal,
    new_session,
    queue_turn,
    wait_for_frame,
)
from tests.stack import Backend, Worker

pytestmark = pytest.mark.usefixtures("clean_db", "db")


@pytest.fixture
def isolated(backend: Backend, isolated_redis_url: str) -> Backend:
    return backend.with_overrides(redis_url=isolated_redis_url, heartbeat_stale_s=3.0)


@pytest.fixture
async def iredis(isolated: Backend) -> AsyncIterator[Redis]:
    client = Redis.from_url(isolated.settings.redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


async def test_local_executor_turn_streams_and_records_usage(
    isolated: Backend, start_worker: Callable[..., Worker], iredis: Redis, tenant_id: str
) -> None:
    worker = start_worker("chat", executor="local", concurrency=1, **_over(isolated))
    session = await new_session(tenant_id)
    job = await queue_turn(isolated.settings, iredis, session, "hello #sim:text")
    try:
        frames = await frames_until_terminal(iredis, str(job.id))
    finally:
        worker.stop()
    types = [f["type"] for f in frames]
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert types[:2] == ["job_queued", "job_started"], types
    assert "assistant_chunk" in types and "usage" in types
    assert types[-1] == "session_end", frames[-1]
    stored = await Job.get(job.id)
    assert stored is not None and stored.state == "succeeded"
    log = await TokenUsageLog.find_one({"job_id": job.id})
    summary = frames[-1]["usage_summary"]
    assert log is not None
    assert (log.input_tokens, log.output_tokens, log.total_cost_usd) == (
        summary["input_tokens"], summary["output_tokens"], summary["total_cost_usd"])
    refreshed = await ChatSession.get(session.id)
    assert refreshed is not None and refreshed.claude_session_id == frames[1]["claude_session_id"]


async def test_conversion_goes_to_the_conversions_queue(
    isolated: Backend, start_worker: Callable[..., Worker], iredis: Redis, tenant_id: str
) -> None:
    worker = start_worker("conversions", executor="local", concurrency=1, **_over(isolated))
    session = await new_session(tenant_id, context="conversion")
    conversion = await queue_turn(isolated.settings, iredis, session, "convert #sim:text",
                                  context="conversion")
    try:
        frames = await frames_until_terminal(iredis, str(conversion.id))
    finally:
        worker.stop()
    assert frames[-1]["type"] == "session_end"
    other = await new_session(tenant_id)
    chat = await queue_turn(isolated.settings, iredis, other, "hi #sim:text")
    assert chat.queue == "chat"
    assert await iredis.llen("chat") == 1, "the chat turn must wait on the chat queue"
    assert (await Job.get(chat.id)).state == "queued"  # type: ignore[union-attr]


async def test_killed_worker_ends_worker_lost_and_never_runs_twice(
    isolated: Backend, start_worker: Callable[..., Worker], iredis: Redis, tenant_id: str,
    sim_url: str, docker_client, tenant_image: str,  # type: ignore[no-untyped-def]
) -> None:
    victim = start_worker("chat", concurrency=1, **_over(isolated))
    session = await new_session(tenant_id)
    job = await queue_turn(isolated.settings, iredis, session, "long one #sim:slow")
    await wait_for_frame(iredis, str(job.id), "assistant_chunk")
    assert _claude_running(docker_client, tenant_id)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.proc.wait(5)

    survivor = start_worker("chat", concurrency=1, **_over(isolated))  # its reaper ends the job
    frames = await frames_until_terminal(iredis, str(job.id), timeout=30)
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "worker_lost", frames[-1]
    lost = await Job.get(job.id)
    assert lost is not None and (lost.state, lost.error_code) == ("failed", "worker_lost")
    wait_until(lambda: not _claude_running(docker_client, tenant_id), timeout=15,
               what="orphaned claude reaped")

    served = len(httpx.get(f"{sim_url}/_sim/served").json())
    await iredis.delete(f"wx:job:{job.id}:terminal")
    celery = make_celery(isolated.settings)
    sent = celery.send_task(CHAT_TURN_TASK, args=[str(job.id)], queue="chat")  # a 2nd delivery
    wait_until(lambda: f"chat_turn.run[{sent.id}] succeeded" in survivor.log_tail(50_000),
               timeout=15, what="second delivery handled")
    assert len(httpx.get(f"{sim_url}/_sim/served").json()) == served, "claude ran again"
    again = await frames_until_terminal(iredis, str(job.id))
    assert [f["type"] for f in again].count("error") == 1
    assert (await Job.get(job.id)).state == "failed"  # type: ignore[union-attr]
    survivor.stop()


def _over(isolated: Backend) -> dict[str, object]:
    return {"redis_url": isolated.values["redis_url"], "heartbeat_stale_s": 3.0}


def _claude_running(docker_client, tenant: str) -> bool:  # type: ignore[no-untyped-def]
    container = docker_client.containers.get(f"wx-tenant-{tenant}")
    _code, out = container.exec_run(["ps", "-o", "args"], user="1000:1000")
    return any(b"claude" in line and b" -p" in line for line in out.splitlines())
