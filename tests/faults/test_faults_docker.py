"""The fault suite's Docker cases: the real claude binary against the simulator, in a
tenant container on a dockerd of the suite's own (so restarting it touches nothing else).
The checks are those of test_faults.py."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.faults.client import ChatClient, judge
from tests.faults.test_faults import TURN_TIMEOUT_S, Stack, check
from tests.faults.world import Dockerd, World


@pytest.fixture(scope="module")
def docker_stack(world: World, own_dockerd: Dockerd) -> Iterator[Stack]:
    """An API and a worker on the suite's own dockerd, running the real claude."""
    overrides = {"executor": "docker", "docker_host": own_dockerd.url}
    api = world.start_api(**overrides)
    worker = world.start_worker(**overrides)
    the_stack = Stack(world, api, worker)
    yield the_stack
    worker.stop()
    api.proc.stop()


async def test_tenant_container_killed_mid_exec(docker_stack: Stack, own_dockerd: Dockerd,
                                                trial: int) -> None:
    import docker

    client = docker_stack.client()
    await client.send("A long analysis #sim:slow")
    await client.follow(60, until=lambda c: len(c.text()) > 200)
    engine = docker.DockerClient(base_url=own_dockerd.url)
    container = engine.containers.get(f"wx-tenant-{client.tenant}")
    assert _runs_claude(container)
    container.kill()
    engine.close()
    await client.follow(TURN_TIMEOUT_S)
    verdict = await judge(docker_stack.world, client)
    check("tenant container killed mid-exec", trial, verdict, expect_terminal="error",
          expect_state="failed")
    # The next turn of the session starts the container again and runs.
    again = ChatClient(client.url_of, client.token, client.project_id)
    await again.send("And now? #sim:text", session_id=client.session_id)
    await again.follow(TURN_TIMEOUT_S)
    assert (await judge(docker_stack.world, again)).terminal == "session_end"


def _runs_claude(container: object) -> bool:
    _code, out = container.exec_run(["ps", "-o", "args"])  # type: ignore[attr-defined]
    return any(b"claude" in line and b" -p" in line for line in out.splitlines())


async def test_dockerd_restarted_between_turns(docker_stack: Stack, own_dockerd: Dockerd,
                                               trial: int) -> None:
    client = docker_stack.client()
    await client.send("First question #sim:text")
    await client.follow(TURN_TIMEOUT_S)
    first = await judge(docker_stack.world, client)
    await asyncio.to_thread(own_dockerd.kill)
    await asyncio.to_thread(own_dockerd.start, 90)
    second = ChatClient(client.url_of, client.token, client.project_id)
    await second.send("A follow-up #sim:text", session_id=client.session_id)
    await second.follow(TURN_TIMEOUT_S)
    verdict = await judge(docker_stack.world, second)
    verdict.notes["first_turn"] = first.terminal
    check("dockerd restarted between turns", trial, verdict, expect_terminal="session_end",
          expect_state="succeeded")
    assert first.terminal == "session_end"
