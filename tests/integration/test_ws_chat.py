"""The chat WebSocket against a real uvicorn process, real Redis and SecantusDB. No
worker runs here: the test publishes the worker's frames itself with EventPublisher,
which is exactly what the relay must carry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from app.events import EventPublisher
from app.protocol import AssistantChunkFrame, JobStartedFrame, SessionEndFrame, UsageSummary
from tests.integration.api_support import LIMIT_RUNNING, MAX_FRAME_BYTES, ApiEnv, api, new_tenant

__all__ = ["api"]

RECV_TIMEOUT_S = 10.0


async def _project(env: ApiEnv, tenant: str) -> str:
    async with env.client(tenant) as client:
        return str((await client.post("/api/projects", json={"name": "p"})).json()["id"])


@asynccontextmanager
async def _socket(env: ApiEnv, tenant: str, project_id: str) -> AsyncIterator[ClientConnection]:
    url = f"{env.ws_url}/ws/chat/{project_id}"
    async with connect(url, subprotocols=["bearer", env.token(tenant)],  # type: ignore[list-item]
                       max_size=None) as ws:
        assert ws.subprotocol == "bearer"
        yield ws


async def _recv(ws: ClientConnection) -> dict[str, Any]:
    return dict(orjson.loads(await asyncio.wait_for(ws.recv(), RECV_TIMEOUT_S)))


async def _send(ws: ClientConnection, frame: dict[str, Any] | str) -> None:
    await ws.send(frame if isinstance(frame, str) else orjson.dumps(frame).decode())


@pytest.fixture
async def publisher(api: ApiEnv) -> AsyncIterator[EventPublisher]:
    redis = Redis.from_url(api.settings.redis_url)
    yield EventPublisher(redis, maxlen=1000, ttl_s=600)
    await redis.aclose()


def _turn_frames(job_id: str, chunks: int) -> list[Any]:
    frames: list[Any] = [JobStartedFrame(job_id=job_id, model="sim", claude_session_id="c1")]
    frames += [AssistantChunkFrame(job_id=job_id, content=f"part {i} ", message_id="m1")
               for i in range(chunks)]
    frames.append(SessionEndFrame(job_id=job_id, total_cost_usd=0.01, usage_summary=UsageSummary(),
                                  duration_ms=5, num_turns=1, is_error=False, result="ok"))
    return frames


async def _frames_until_terminal(ws: ClientConnection) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = await _recv(ws)
        frames.append(frame)
        if frame["type"] in ("session_end", "error", "cancelled") and frame["seq"] > 0:
            return frames


async def test_refused_without_or_with_a_bad_token(api: ApiEnv) -> None:
    tenant = new_tenant()
    pid = await _project(api, tenant)
    url = f"{api.ws_url}/ws/chat/{pid}"
    for protocols in (None, ["bearer", "not-a-jwt"], ["token", api.token(tenant)]):
        with pytest.raises(InvalidStatus) as info:
            async with connect(url, subprotocols=protocols):  # type: ignore[arg-type]
                pass
        assert info.value.response.status_code == 403


async def test_another_tenants_project_is_not_found(api: ApiEnv) -> None:
    pid = await _project(api, new_tenant())
    with pytest.raises(InvalidStatus) as info:
        async with _socket(api, new_tenant(), pid):
            pass
    assert info.value.response.status_code == 404
    assert orjson.loads(info.value.response.body)["code"] == "not_found"


async def test_bad_frames_get_bad_request_and_the_socket_stays_usable(api: ApiEnv) -> None:
    tenant = new_tenant()
    pid = await _project(api, tenant)
    async with _socket(api, tenant, pid) as ws:
        for bad in ("not json", '{"type":"launch"}', '{"type":"message"}',
                    orjson.dumps({"type": "message", "content": "x" * MAX_FRAME_BYTES}).decode()):
            await _send(ws, bad)
            frame = await _recv(ws)
            assert (frame["type"], frame["code"], frame["seq"]) == ("error", "bad_request", 0)
        await _send(ws, {"type": "ping"})
        assert (await _recv(ws))["type"] == "pong"


async def test_guardrail_block_over_the_socket(api: ApiEnv) -> None:
    tenant = new_tenant()
    pid = await _project(api, tenant)
    before = api.redis.llen("chat")
    async with _socket(api, tenant, pid) as ws:
        await _send(ws, {"type": "message", "content": "/etc please run sudo rm -rf /"})
        frame = await _recv(ws)
    assert (frame["type"], frame["code"]) == ("error", "input_blocked")
    assert api.db.jobs.count_documents({"tenant_id": tenant}) == 0
    assert api.redis.llen("chat") == before
    assert api.db.security_events.count_documents({"tenant_id": tenant}) == 1


async def test_limit_exceeded_over_the_socket(api: ApiEnv) -> None:
    tenant = new_tenant()
    pid = await _project(api, tenant)
    sockets = [_socket(api, tenant, pid) for _ in range(LIMIT_RUNNING + 1)]
    opened = [await s.__aenter__() for s in sockets]
    try:
        for ws in opened[:-1]:
            await _send(ws, {"type": "message", "content": "hello"})
            assert (await _recv(ws))["type"] == "job_queued"
        await _send(opened[-1], {"type": "message", "content": "one too many"})
        frame = await _recv(opened[-1])
        assert (frame["type"], frame["code"]) == ("error", "limit_exceeded")
        assert frame["details"]["retry_after_s"] > 0
    finally:
        for s in reversed(sockets):
            await s.__aexit__(None, None, None)


async def test_messages_of_a_socket_share_a_session_and_frames_arrive_in_order(
    api: ApiEnv, publisher: EventPublisher
) -> None:
    tenant = new_tenant()
    pid = await _project(api, tenant)
    async with _socket(api, tenant, pid) as ws:
        await _send(ws, {"type": "message", "content": "first"})
        first = await _recv(ws)
        await _send(ws, {"type": "message", "content": "second"})
        second = await _recv(ws)
        assert first["type"] == second["type"] == "job_queued"
        assert first["session_id"] == second["session_id"]
        assert (first["position"], second["position"]) == (0, 1)
        await publisher.publish(first["job_id"], _turn_frames(first["job_id"], 20))
        frames = await _frames_until_terminal(ws)
    assert [f["seq"] for f in frames] == list(range(2, 24))
    assert frames[-1]["type"] == "session_end"
    assert "".join(f["content"] for f in frames if f["type"] == "assistant_chunk") == "".join(
        f"part {i} " for i in range(20))


async def test_resume_replays_after_seq_exactly_once_while_publishing(
    api: ApiEnv, publisher: EventPublisher
) -> None:
    tenant = new_tenant()
    pid = await _project(api, tenant)
    async with _socket(api, tenant, pid) as ws:
        await _send(ws, {"type": "message", "content": "go"})
        job_id = (await _recv(ws))["job_id"]
        frames = _turn_frames(job_id, 400)
        await publisher.publish(job_id, frames[:100])  # seq 2..101
    k = 37

    async def publish_rest() -> None:
        for i in range(100, len(frames)):
            await publisher.publish(job_id, [frames[i]])
            if i % 25 == 0:
                await asyncio.sleep(0.001)

    async with _socket(api, tenant, pid) as ws:
        task = asyncio.create_task(publish_rest())
        await _send(ws, {"type": "resume", "job_id": job_id, "after_seq": k})
        received = await _frames_until_terminal(ws)
        await task
    last_seq = len(frames) + 1
    assert [f["seq"] for f in received] == list(range(k + 1, last_seq + 1))


async def test_another_tenants_job_is_not_found_on_the_socket(
    api: ApiEnv, publisher: EventPublisher
) -> None:
    owner, other = new_tenant(), new_tenant()
    pid = await _project(api, owner)
    async with api.client(owner) as client:
        job_id = (await client.post(f"/api/projects/{pid}/chat", json={"content": "x"})).json()[
            "job_id"]
    other_pid = await _project(api, other)
    async with _socket(api, other, other_pid) as ws:
        for frame in ({"type": "resume", "job_id": job_id, "after_seq": 0},
                      {"type": "cancel", "job_id": job_id}):
            await _send(ws, frame)
            reply = await _recv(ws)
            assert (reply["type"], reply["code"]) == ("error", "not_found")
    assert api.db.jobs.find_one({"tenant_id": owner})["state"] == "queued"


async def test_cancel_without_job_id_cancels_the_sockets_turn(api: ApiEnv) -> None:
    tenant = new_tenant()
    pid = await _project(api, tenant)
    async with _socket(api, tenant, pid) as ws:
        await _send(ws, {"type": "message", "content": "long one"})
        queued = await _recv(ws)
        await _send(ws, {"type": "cancel"})
        cancelled = await _recv(ws)
    assert (cancelled["type"], cancelled["job_id"], cancelled["seq"]) == (
        "cancelled", queued["job_id"], 2)


async def test_sse_follows_published_frames_and_honours_last_event_id(
    api: ApiEnv, publisher: EventPublisher
) -> None:
    tenant = new_tenant()
    pid = await _project(api, tenant)
    async with api.client(tenant) as client:
        job_id = (await client.post(f"/api/projects/{pid}/chat", json={"content": "x"})).json()[
            "job_id"]
        frames = _turn_frames(job_id, 30)

        async def publish_later() -> None:
            await asyncio.sleep(0.2)
            for frame in frames:
                await publisher.publish(job_id, [frame])

        task = asyncio.create_task(publish_later())
        async with client.stream("GET", f"/api/jobs/{job_id}/events",
                                 headers={"Last-Event-ID": "5"}) as stream:
            body = (await stream.aread()).decode()
        await task
    ids = [int(line[4:]) for line in body.splitlines() if line.startswith("id: ")]
    assert ids == list(range(6, len(frames) + 2))
    events = [line[7:] for line in body.splitlines() if line.startswith("event: ")]
    assert events[-1] == "session_end"
    assert events.count("session_end") == 1


async def test_a_finished_job_with_expired_events_ends_at_once(api: ApiEnv) -> None:
    tenant = new_tenant()
    pid = await _project(api, tenant)
    async with api.client(tenant) as client:
        job_id = (await client.post(f"/api/projects/{pid}/chat", json={"content": "x"})).json()[
            "job_id"]
        await client.delete(f"/api/jobs/{job_id}")
        api.redis.delete(f"wx:job:{job_id}:events")  # as if its TTL had passed
        response = await asyncio.wait_for(client.get(f"/api/jobs/{job_id}/events"), 5)
        assert response.status_code == 200 and "event:" not in response.text
    async with _socket(api, tenant, pid) as ws:
        await _send(ws, {"type": "resume", "job_id": job_id, "after_seq": 0})
        reply = await _recv(ws)
    assert (reply["type"], reply["code"]) == ("error", "not_found")
