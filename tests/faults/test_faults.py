"""The fault suite (issue: one turn lifecycle that always ends): each case breaks a real
part during a real turn, `--fault-trials` times, and every trial must end with exactly one
terminal frame, no gap, no duplicate, the usage stored once, the job in a terminal state,
and a complete answer never reported as an error.

Turns run the stand-in claude (`wxrunner-standin-claude`: 200 stamped deltas at 50/s) on
the local executor, except the Docker cases, which run the real claude binary against the
simulator in a tenant container."""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.faults.client import ChatClient, Verdict, judge
from tests.faults.report import record
from tests.faults.world import Api, World, wait_gone
from tests.helpers import OwnedProcess, free_port

DELTAS = 200
STANDIN_TURN = f"Convert the order form #standin:deltas={DELTAS},rate=50"
TURN_TIMEOUT_S = 90.0


@dataclass
class Stack:
    """An API and a worker on the fault world; a case may replace either."""

    world: World
    api: Api
    worker: OwnedProcess

    def client(self, tenant: str | None = None, **kwargs: object) -> ChatClient:
        tenant = tenant or f"t{uuid.uuid4().hex[:10]}"
        project = self.world.new_project(self.api, tenant)
        return ChatClient(lambda: self.api.url, self.world.token(tenant), project,
                          tenant=tenant, **kwargs)  # type: ignore[arg-type]

    def ensure_worker(self) -> None:
        if not self.worker.alive():
            self.worker = self.world.start_worker()


@pytest.fixture(scope="module")
def stack(world: World) -> Iterator[Stack]:
    api = world.start_api()
    worker = world.start_worker()
    the_stack = Stack(world, api, worker)
    yield the_stack
    the_stack.worker.stop()
    api.proc.stop()


def check(case: str, trial: int, verdict: Verdict, *, expect_terminal: str | None = None,
          expect_state: str | None = None) -> None:
    problems = verdict.problems(expect_terminal=expect_terminal, expect_state=expect_state)
    record(case, trial, verdict, problems)
    assert not problems, f"{case} trial {trial}: {problems} ({verdict})"


async def _started(client: ChatClient, stamps: int = 40) -> None:
    """Wait until the answer is streaming (`stamps` deltas seen)."""
    await client.follow(30, until=lambda c: c.text().count("@") >= stamps)


# ------------------------------------------------------------------ worker faults


async def test_worker_sigkill_mid_turn(stack: Stack, trial: int) -> None:
    stack.ensure_worker()
    client = stack.client()
    await client.send(STANDIN_TURN)
    await _started(client)
    os.kill(stack.worker.pid, signal.SIGKILL)  # the worker, not its claude (a crash)
    stack.worker.proc.wait(10)
    stack.worker = stack.world.start_worker()  # its reaper ends the lost turn
    await client.follow(TURN_TIMEOUT_S)
    verdict = await judge(stack.world, client, deltas=DELTAS)
    check("worker SIGKILL mid-turn", trial, verdict, expect_terminal="error",
          expect_state="failed")
    assert verdict.code == "worker_lost"


async def test_worker_sigterm_mid_turn(stack: Stack, trial: int) -> None:
    """A warm shutdown lets the running turn finish (within worker_shutdown_grace_s)."""
    stack.ensure_worker()
    client = stack.client()
    await client.send(STANDIN_TURN)
    await _started(client)
    stopping = stack.worker
    os.kill(stopping.pid, signal.SIGTERM)
    await client.follow(TURN_TIMEOUT_S)
    verdict = await judge(stack.world, client, deltas=DELTAS)
    await asyncio.to_thread(wait_gone, stopping, 30)
    verdict.notes["worker_exited"] = not stopping.alive()
    check("worker SIGTERM (warm shutdown) mid-turn", trial, verdict,
          expect_terminal="session_end", expect_state="succeeded")
    assert not stopping.alive(), "the worker did not exit after its warm shutdown"


# ------------------------------------------------------------------ Redis and MongoDB


async def test_redis_restart_mid_stream(stack: Stack, trial: int) -> None:
    stack.ensure_worker()
    client = stack.client()
    await client.send(STANDIN_TURN)
    await _started(client)
    stack.world.redis.kill()
    await asyncio.sleep(3)
    await asyncio.to_thread(stack.world.redis.start)
    await client.follow(TURN_TIMEOUT_S)
    verdict = await judge(stack.world, client, deltas=DELTAS)
    verdict.notes["worker_alive"] = stack.worker.alive()
    check("Redis killed and restarted mid-stream", trial, verdict,
          expect_terminal="session_end", expect_state="succeeded")
    assert stack.worker.alive(), "the worker died with the broker"


async def test_mongo_down_across_turn_end(stack: Stack, trial: int) -> None:
    """MongoDB goes away mid-turn and comes back 12 s later (3 heartbeat-stale periods)."""
    stack.ensure_worker()
    client = stack.client()
    await client.send(STANDIN_TURN)
    await _started(client)
    stack.world.mongo.kill()
    await client.follow(30, until=lambda c: c.text().count("@") >= DELTAS)
    await asyncio.sleep(12 - 3)
    await asyncio.to_thread(stack.world.mongo.start)
    await client.follow(TURN_TIMEOUT_S)
    verdict = await judge(stack.world, client, deltas=DELTAS)
    check("MongoDB down across a turn's end", trial, verdict,
          expect_terminal="session_end", expect_state="succeeded")


# ------------------------------------------------------------------ the API and its clients


async def test_api_restart_with_sockets_open(stack: Stack, trial: int) -> None:
    """The client's API dies mid-turn; it resumes on another API process."""
    stack.ensure_worker()
    doomed = stack.world.start_api()
    client = stack.client()
    client.url_of = lambda: doomed.url
    await client.send(STANDIN_TURN)
    await _started(client)
    os.killpg(doomed.proc.pid, signal.SIGKILL)
    doomed.proc.proc.wait(10)
    client.url_of = lambda: stack.api.url
    await client.follow(TURN_TIMEOUT_S)
    verdict = await judge(stack.world, client, deltas=DELTAS)
    check("API process restarted with sockets open", trial, verdict,
          expect_terminal="session_end", expect_state="succeeded")
    assert verdict.reconnects >= 1


async def test_100_reconnects_during_one_turn(stack: Stack, trial: int) -> None:
    stack.ensure_worker()
    # Unbounded, as a browser's: a client that stops reading at its queue's limit cannot
    # see the server's half of the closing handshake, so each close would wait out its
    # 10 s timeout once the replay after a resume is longer than the queue.
    client = stack.client(max_queue=None)
    deltas = 500  # 10 s: the reconnects all fall inside the turn
    await client.send(f"A long one #standin:deltas={deltas},rate=50")
    while client.reconnects < 100 and not client.ended:
        await client.read_one()
        await client.reconnect()
    await client.follow(TURN_TIMEOUT_S)
    verdict = await judge(stack.world, client, deltas=deltas)
    check("100 reconnects during one turn", trial, verdict, expect_terminal="session_end",
          expect_state="succeeded")
    assert verdict.reconnects >= 100


async def test_slow_consumer_catches_up_from_the_stream(world: World, trial: int) -> None:
    """A client that reads slowly fills its bounded queue on the API; it catches up from the
    job's stream (the resync counter shows it happened)."""
    api = world.start_api(ws_queue_size=8)
    worker = world.start_worker()
    try:
        stack = Stack(world, api, worker)
        client = stack.client(max_queue=1)
        deltas = 3000
        await client.send(f"a long answer #standin:deltas={deltas},rate=0,chars=2000")
        await client.follow(10, until=lambda c: c.text().count("@") >= 1)
        await asyncio.sleep(4)  # not reading: the socket's buffers and the queue fill up
        await client.follow(TURN_TIMEOUT_S, pace_s=0.0005)
        verdict = await judge(world, client, deltas=deltas)
        metrics = httpx.get(f"{api.url}/metrics", timeout=10).text
        resyncs = next(float(line.split()[-1]) for line in metrics.splitlines()
                       if line.startswith("wx_relay_resyncs_total"))
        verdict.notes["resyncs"] = resyncs
        check("slow consumer (bounded queue, catch-up from the stream)", trial, verdict,
              expect_terminal="session_end", expect_state="succeeded")
        assert resyncs >= 1, "the queue never overflowed: the case did not happen"
    finally:
        worker.stop()
        api.proc.stop()


async def test_celery_send_failing(world: World, trial: int) -> None:
    """The API's broker refuses every send; the turn is sent by the workers' sweep, once."""
    api = world.start_api(broker_url=f"redis://127.0.0.1:{free_port()}/0")
    worker = world.start_worker()
    try:
        stack = Stack(world, api, worker)
        client = stack.client()
        await client.send(STANDIN_TURN)
        await client.follow(TURN_TIMEOUT_S)
        verdict = await judge(world, client, deltas=DELTAS)
        runs = sum(1 for f in client.frames if f["type"] == "job_started")
        verdict.notes["claude_runs"] = runs
        check("Celery send failing", trial, verdict, expect_terminal="session_end",
              expect_state="succeeded")
        assert runs == 1, f"claude ran {runs} times"
    finally:
        worker.stop()
        api.proc.stop()
