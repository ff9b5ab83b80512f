"""Chat turns end to end: the real API (uvicorn), real Celery workers, Redis,
SecantusDB, dockerd + the tenant image, the real claude binary and the simulator."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
import websockets
from redis.asyncio import Redis

from app.models import TokenUsageLog
from app.protocol import is_terminal
from tests.integration.turn_helpers import frames_until_terminal

pytestmark = pytest.mark.usefixtures("clean_db", "db", "celery_worker")


@pytest.fixture
def client(api_server: str, make_token: Callable[[str], str], tenant_id: str) -> httpx.Client:
    token = make_token(tenant_id)
    return httpx.Client(base_url=api_server, headers={"authorization": f"Bearer {token}"},
                        timeout=30)


@pytest.fixture
def project_id(client: httpx.Client) -> str:
    response = client.post("/api/projects", json={"name": "legacy erp"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _ws_url(api_server: str, project_id: str) -> str:
    return api_server.replace("http://", "ws://") + f"/ws/chat/{project_id}"


async def _ws_connect(api_server: str, project_id: str, token: str) -> Any:
    return await websockets.connect(_ws_url(api_server, project_id),
                                    subprotocols=["bearer", token],  # type: ignore[list-item]
                                    max_size=None)


async def _recv_until(ws: Any, stop: Callable[[dict[str, Any]], bool],
                      timeout: float = 60) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frame = orjson.loads(await ws.recv())
        if frame["type"] == "pong":
            continue
        frames.append(frame)
        if stop(frame):
            return frames
    raise AssertionError(f"no stop frame after {timeout}s: {frames[-3:]}")


def _terminal(frame: dict[str, Any]) -> bool:
    return is_terminal(frame["type"])


async def test_ws_turn_streams_contiguous_frames_and_usage_is_stored(
    api_server: str, make_token: Callable[[str], str], tenant_id: str, project_id: str
) -> None:
    async with await _ws_connect(api_server, project_id, make_token(tenant_id)) as ws:
        await ws.send(orjson.dumps({"type": "message", "content": "Explain the project"}))
        frames = await _recv_until(ws, _terminal)
    types = [f["type"] for f in frames]
    assert types[:2] == ["job_queued", "job_started"], types
    assert "assistant_chunk" in types and "usage" in types and types[-1] == "session_end"
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    log = await TokenUsageLog.find_one({"job_id": _oid(frames[0]["job_id"])})
    summary = frames[-1]["usage_summary"]
    assert log is not None
    assert {k: getattr(log, k) for k in ("input_tokens", "output_tokens", "cache_creation_tokens",
                                         "cache_read_tokens", "total_cost_usd")} == {
        k: summary[k] for k in ("input_tokens", "output_tokens", "cache_creation_tokens",
                                "cache_read_tokens", "total_cost_usd")}


async def test_two_messages_back_to_back_run_in_order_and_resume(
    api_server: str, make_token: Callable[[str], str], tenant_id: str, project_id: str,
    client: httpx.Client,
) -> None:
    async with await _ws_connect(api_server, project_id, make_token(tenant_id)) as ws:
        await ws.send(orjson.dumps({"type": "message", "content": "first question"}))
        await ws.send(orjson.dumps({"type": "message", "content": "second question"}))
        frames = await _recv_until(ws, _two_terminals(), timeout=90)
    by_job: dict[str, list[dict[str, Any]]] = {}
    for frame in frames:
        by_job.setdefault(frame["job_id"], []).append(frame)
    # (the second job gets a job_queued frame again when the first ends: its new position)
    first, second = (by_job[job] for job in dict.fromkeys(
        f["job_id"] for f in frames if f["type"] == "job_queued"))
    assert [f["position"] for f in second if f["type"] == "job_queued"] == [1, 0]
    assert first[-1]["type"] == second[-1]["type"] == "session_end"
    started = {j[0]["job_id"]: next(f for f in j if f["type"] == "job_started") for j in
               (first, second)}
    assert started[second[0]["job_id"]]["claude_session_id"] == \
        started[first[0]["job_id"]]["claude_session_id"]
    a, b = (client.get(f"/api/jobs/{j[0]['job_id']}").json() for j in (first, second))
    assert b["started_at"] >= a["finished_at"], "the second turn overlapped the first"
    # the simulator bills 13 input tokens per message sent: the resumed turn sent the
    # first turn's question and answer again
    assert second[-1]["usage_summary"]["input_tokens"] - \
        first[-1]["usage_summary"]["input_tokens"] >= 26


def _two_terminals() -> Callable[[dict[str, Any]], bool]:
    seen: list[str] = []

    def stop(frame: dict[str, Any]) -> bool:
        if is_terminal(frame["type"]):
            seen.append(frame["job_id"])
        return len(seen) == 2

    return stop


async def test_rest_fallback_202_then_sse_then_job_state(
    client: httpx.Client, project_id: str
) -> None:
    response = client.post(f"/api/projects/{project_id}/chat",
                           json={"content": "hello over REST", "context": "analysis"})
    assert response.status_code == 202, response.text
    accepted = response.json()
    frames = []
    with client.stream("GET", accepted["events_url"], timeout=60) as events:
        for line in events.iter_lines():
            if line.startswith("data:"):
                frames.append(orjson.loads(line[5:].strip()))
                if _terminal(frames[-1]):
                    break
    assert frames[0]["type"] == "job_queued" and frames[-1]["type"] == "session_end"
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    job = client.get(accepted["status_url"]).json()
    assert job["state"] == "succeeded"
    assert job["usage"]["output_tokens"] == frames[-1]["usage_summary"]["output_tokens"] > 0


@pytest.mark.parametrize("how", ["ws", "delete"])
async def test_cancel_a_running_turn_within_2s(
    how: str, api_server: str, make_token: Callable[[str], str], tenant_id: str,
    project_id: str, client: httpx.Client, docker_client: Any,
) -> None:
    async with await _ws_connect(api_server, project_id, make_token(tenant_id)) as ws:
        await ws.send(orjson.dumps({"type": "message", "content": "a long answer #sim:slow"}))
        head = await _recv_until(ws, lambda f: f["type"] == "assistant_chunk")
        job_id = head[0]["job_id"]
        asked = time.monotonic()
        if how == "ws":
            await ws.send(orjson.dumps({"type": "cancel", "job_id": job_id}))
        else:
            assert client.delete(f"/api/jobs/{job_id}").status_code == 200
        tail = await _recv_until(ws, _terminal, timeout=10)
        took = time.monotonic() - asked
    assert tail[-1]["type"] == "cancelled", tail[-1]
    assert took < 2.0, f"cancel took {took:.2f}s"
    assert tail[-1]["usage"]["input_tokens"] > 0, "usage of the cancelled turn was lost"
    job = client.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "cancelled" and job["usage"]["input_tokens"] > 0
    container = docker_client.containers.get(f"wx-tenant-{tenant_id}")
    _, ps = container.exec_run(["ps", "-o", "args"], user="1000:1000")
    assert not [p for p in ps.splitlines() if b"claude" in p and b" -p" in p], ps


async def test_reconnect_with_resume_gets_the_rest_exactly_once(
    api_server: str, make_token: Callable[[str], str], tenant_id: str, project_id: str,
    backend_redis: Redis,
) -> None:
    token = make_token(tenant_id)
    async with await _ws_connect(api_server, project_id, token) as ws:
        await ws.send(orjson.dumps({"type": "message", "content": "stream a while #sim:slow"}))
        seen = await _recv_until(ws, lambda f: f["type"] == "assistant_chunk" and f["seq"] >= 4)
    job_id, k = seen[0]["job_id"], seen[-1]["seq"]
    async with await _ws_connect(api_server, project_id, token) as ws:
        await ws.send(orjson.dumps({"type": "resume", "job_id": job_id, "after_seq": k}))
        rest = await _recv_until(ws, lambda f: f["type"] == "assistant_chunk"
                                 and f["seq"] >= k + 5)
        await ws.send(orjson.dumps({"type": "cancel", "job_id": job_id}))
        rest += await _recv_until(ws, _terminal, timeout=10)
    stored = await frames_until_terminal(backend_redis, job_id)
    assert [f["seq"] for f in rest] == list(range(k + 1, stored[-1]["seq"] + 1))
    assert [f["seq"] for f in rest] == [f["seq"] for f in stored[k:]]


def _oid(value: str) -> Any:
    from bson import ObjectId

    return ObjectId(value)
