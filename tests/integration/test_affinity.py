"""Tenant affinity across worker hosts (DESIGN §11), on real Celery workers.

Two worker processes with WX_WORKER_HOST=host-a / host-b stand in for two Docker hosts.
They use the local executor: on this machine both "hosts" would share one dockerd, so
a docker run would exec in the very same tenant container either way and prove nothing
more about routing, while costing a container start per tenant. Routing is what is
tested here: which queue a turn is sent to and which host's worker claims it. The
workers run on a broker of their own (no session-wide worker registers a host on it)."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Callable

import pytest
from redis.asyncio import Redis

from app.models import ChatSession, Job
from app.services.hosts import alive_hosts, get_affinity
from tests.integration.turn_helpers import frames_until_terminal, new_session, queue_turn
from tests.stack import Backend, Worker

pytestmark = pytest.mark.usefixtures("clean_db", "db")

HEARTBEAT_S = 1.0  # a host key lives 3 s after its last heartbeat


@pytest.fixture
def isolated(backend: Backend, isolated_redis_url: str) -> Backend:
    return backend.with_overrides(redis_url=isolated_redis_url, host_heartbeat_s=HEARTBEAT_S,
                                  heartbeat_stale_s=3.0, reaper_interval_s=0.5)


@pytest.fixture
async def iredis(isolated: Backend) -> AsyncIterator[Redis]:
    client = Redis.from_url(isolated.settings.redis_url)
    await client.flushdb()
    yield client
    await client.aclose()


async def _wait_hosts(redis: Redis, wanted: set[str], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if {h.host for h in await alive_hosts(redis) if h.serves("chat")} == wanted:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"alive hosts never became {wanted}: {await alive_hosts(redis)}")


async def _turn(isolated: Backend, redis: Redis, session: ChatSession, prompt: str) -> Job:
    """Queue a turn, wait for its end; the job as stored."""
    job = await queue_turn(isolated.settings, redis, session, f"{prompt} #sim:text")
    frames = await frames_until_terminal(redis, str(job.id), timeout=60)
    assert frames[-1]["type"] == "session_end", frames[-1]
    stored = await Job.get(job.id)
    assert stored is not None and stored.state == "succeeded", stored
    return stored


def _host_of(job: Job) -> str:
    assert job.worker is not None
    return job.worker.rsplit(":", 1)[0]


async def test_turns_follow_the_tenant_and_move_when_its_host_dies(
    isolated: Backend, start_worker: Callable[..., Worker], iredis: Redis,
    tenant_id: str,
) -> None:
    over = {"redis_url": isolated.values["redis_url"], "host_heartbeat_s": HEARTBEAT_S,
            "heartbeat_stale_s": 3.0, "reaper_interval_s": 0.5}
    workers = {host: start_worker("chat", executor="local", concurrency=1, worker_host=host,
                                  **over) for host in ("host-a", "host-b")}
    await _wait_hosts(iredis, {"host-a", "host-b"})

    # Every turn of the tenant goes to the host that holds its affinity.
    session = await new_session(tenant_id)
    first = await _turn(isolated, iredis, session, "first")
    home = await get_affinity(iredis, tenant_id)
    assert home in workers and _host_of(first) == home
    other_session = await new_session(tenant_id)
    for job in (await _turn(isolated, iredis, session, "second"),
                await _turn(isolated, iredis, other_session, "elsewhere")):
        assert (_host_of(job), job.routed_queue) == (home, f"chat.{home}")
    # A new tenant goes to the host with the fewest tenants: the other one.
    spare = next(h for h in workers if h != home)
    newcomer = await _turn(isolated, iredis, await new_session(f"{tenant_id}x"), "hi")
    assert _host_of(newcomer) == spare and newcomer.routed_queue == f"chat.{spare}"

    # The home host freezes: a turn routed to it while it still looks alive is stranded
    # on its queue; once its registry entry expires, the survivor sends it again.
    os.killpg(workers[home].pid, signal.SIGSTOP)
    stranded = await queue_turn(isolated.settings, iredis, session, "stranded #sim:text")
    routed = await Job.get(stranded.id)
    assert routed is not None and routed.routed_queue == f"chat.{home}", routed
    await _wait_hosts(iredis, {spare})
    frames = await frames_until_terminal(iredis, str(stranded.id), timeout=60)
    assert frames[-1]["type"] == "session_end", frames[-1]
    assert [f["type"] for f in frames].count("job_started") == 1
    moved = await Job.get(stranded.id)
    assert moved is not None and moved.state == "succeeded"
    assert (_host_of(moved), moved.routed_queue) == (spare, f"chat.{spare}")
    assert await get_affinity(iredis, tenant_id) == spare

    # The home host is gone for good; the tenant's next turn runs on its new host.
    os.killpg(workers[home].pid, signal.SIGKILL)
    workers[home].proc.wait(5)
    after = await _turn(isolated, iredis, session, "after")
    assert (_host_of(after), after.routed_queue) == (spare, f"chat.{spare}")
    workers[spare].stop()
