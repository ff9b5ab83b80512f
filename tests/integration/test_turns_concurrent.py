"""Many turns at once on ONE worker process (threads pool, one event loop): they overlap, and
cancel, the idle watchdog, the time limit and a worker SIGKILL behave as with one turn.

The worker consumes a broker of its own (no other worker can take these turns) and runs the
stand-in claude (workers/standin.py) on the local executor."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from app.keys import cancel_key
from app.models import Job
from tests.helpers import VENV_BIN
from tests.integration.turn_helpers import frames_until_terminal, new_session, queue_turn
from tests.stack import Backend, Worker

pytestmark = pytest.mark.usefixtures("clean_db", "db")

TURN = "Convert the form #standin:deltas=200,rate=50"  # 4 s
TIME_LIMIT_S = 8


def _isolated(backend: Backend, isolated_redis_url: str) -> Backend:
    return backend.with_overrides(redis_url=isolated_redis_url, executor="local",
                                  claude_bin=str(VENV_BIN / "wxrunner-standin-claude"),
                                  chat_time_limit_s=TIME_LIMIT_S, turn_idle_timeout_s=3.0,
                                  heartbeat_stale_s=3.0)


def _worker(start_worker: Callable[..., Worker], isolated: Backend) -> Worker:
    return start_worker("chat", executor="local", concurrency=32,
                        **{k: isolated.values[k] for k in (
                            "redis_url", "claude_bin", "chat_time_limit_s",
                            "turn_idle_timeout_s", "heartbeat_stale_s")})


async def test_twenty_turns_overlap_on_one_worker_with_cancel_idle_and_time_limit(
    backend: Backend, start_worker: Callable[..., Worker], isolated_redis_url: str,
    tenant_id: str,
) -> None:
    isolated = _isolated(backend, isolated_redis_url)
    worker = _worker(start_worker, isolated)
    assert _threads(worker.pid) > 32, "the pool's threads are not started with the worker"
    redis = Redis.from_url(isolated_redis_url)
    try:
        prompts = [TURN] * 17 + [
            "to cancel #standin:deltas=500,rate=50",
            "silent #standin:deltas=100,rate=50,stall=30",
            "too long #standin:deltas=1000,rate=50",
        ]
        sessions = [await new_session(tenant_id) for _ in prompts]
        jobs = [await queue_turn(isolated.settings, redis, s, p)
                for s, p in zip(sessions, prompts, strict=True)]
        to_cancel = str(jobs[17].id)
        await _until_running(to_cancel)
        await redis.set(cancel_key(to_cancel), b"1")
        ends = await asyncio.gather(*(frames_until_terminal(redis, str(j.id), timeout=60)
                                      for j in jobs))
    finally:
        await redis.aclose()
        worker.stop()
    terminals = [frames[-1] for frames in ends]
    for frames in ends:
        assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
        assert sum(1 for f in frames if f["type"] in ("session_end", "error", "cancelled")) == 1
    assert all(t["type"] == "session_end" and not t["is_error"] for t in terminals[:17])
    assert terminals[17]["type"] == "cancelled"
    assert (terminals[18]["type"], terminals[18]["code"]) == ("error", "timeout")
    assert "no output" in terminals[18]["message"]
    assert (terminals[19]["type"], terminals[19]["code"]) == ("error", "timeout")
    assert "time limit" in terminals[19]["message"]
    stored = [await Job.get(j.id) for j in jobs]
    assert len({job.worker for job in stored if job}) == 1, "not one worker process"
    starts = [job.started_at for job in stored if job and job.started_at]
    ends_at = [job.finished_at for job in stored if job and job.finished_at]
    assert len(starts) == len(ends_at) == len(jobs)
    assert max(starts) < min(ends_at), "the turns did not all run at the same time"


async def test_a_killed_worker_ends_every_turn_it_ran_once(
    backend: Backend, start_worker: Callable[..., Worker], isolated_redis_url: str,
    tenant_id: str,
) -> None:
    isolated = _isolated(backend, isolated_redis_url)
    victim = _worker(start_worker, isolated)
    redis = Redis.from_url(isolated_redis_url)
    try:
        sessions = [await new_session(tenant_id) for _ in range(10)]
        jobs = [await queue_turn(isolated.settings, redis, s,
                                 "long #standin:deltas=1000,rate=50") for s in sessions]
        for job in jobs:
            await _until_running(str(job.id))
        os.kill(victim.pid, signal.SIGKILL)
        victim.proc.wait(10)
        survivor = _worker(start_worker, isolated)  # its reaper ends the lost turns
        ends = await asyncio.gather(*(frames_until_terminal(redis, str(j.id), timeout=60)
                                      for j in jobs))
        survivor.stop()
    finally:
        await redis.aclose()
    for frames in ends:
        terminals = [f for f in frames if f["type"] in ("session_end", "error", "cancelled")]
        assert [(t["type"], t.get("code")) for t in terminals] == [("error", "worker_lost")]
    stored = [await Job.get(j.id) for j in jobs]
    assert all(job and (job.state, job.error_code) == ("failed", "worker_lost")
               for job in stored)


def _threads(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines()
                    if line.startswith("Threads:")))


async def _until_running(job_id: str, timeout: float = 30.0) -> Any:
    from beanie import PydanticObjectId

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        job = await Job.get(PydanticObjectId(job_id))
        if job is not None and job.state == "running":
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never ran")
