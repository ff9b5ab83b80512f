"""The golden path through the API: a WebSocket client with a minted token sends a
message and gets a real worker's streamed frames (claude + simulator, local executor);
the REST fallback (202 -> SSE -> GET) on the same stack."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import orjson
import pytest
from pymongo import MongoClient
from websockets.asyncio.client import connect

from tests.stack import Backend, Worker

pytestmark = pytest.mark.usefixtures("clean_db")

TURN_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def local_worker(start_worker: Callable[..., Worker]) -> Iterator[Worker]:
    """A local-executor worker beside the session's Docker one, on the same queues: stopped
    with this module, so later suites' turns run in tenant containers only."""
    worker = start_worker(executor="local")
    yield worker
    worker.stop()


def _usage_log(backend: Backend, job_id: str) -> dict[str, Any]:
    from bson import ObjectId

    with MongoClient(backend.settings.mongo_url) as mongo:
        doc = mongo[backend.settings.mongo_db].token_usage_logs.find_one(
            {"job_id": ObjectId(job_id)})
    assert doc is not None, "no TokenUsageLog for the job"
    return dict(doc)


async def _project(api_server: str, token: str) -> str:
    async with httpx.AsyncClient(base_url=api_server,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        return str((await client.post("/api/projects", json={"name": "erp"})).json()["id"])


async def test_ws_turn_streams_contiguous_frames_and_records_usage(
    api_server: str, local_worker: Worker, make_token: Callable[[str], str], tenant_id: str,
    backend: Backend,
) -> None:
    token = make_token(tenant_id)
    pid = await _project(api_server, token)
    url = api_server.replace("http://", "ws://") + f"/ws/chat/{pid}"
    frames: list[dict[str, Any]] = []
    deadline = time.monotonic() + TURN_TIMEOUT_S
    async with connect(url, subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        await ws.send(orjson.dumps({"type": "message", "content": "Olá #sim:text"}).decode())
        while not frames or frames[-1]["type"] not in ("session_end", "error", "cancelled"):
            assert time.monotonic() < deadline, [f["type"] for f in frames]
            frames.append(orjson.loads(await ws.recv()))
    types = [f["type"] for f in frames]
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1)), types
    assert types[:2] == ["job_queued", "job_started"], types
    assert "assistant_chunk" in types and "usage" in types, types
    assert types[-1] == "session_end", frames[-1]
    summary = frames[-1]["usage_summary"]
    log = _usage_log(backend, frames[0]["job_id"])
    assert (log["input_tokens"], log["output_tokens"], log["total_cost_usd"]) == (
        summary["input_tokens"], summary["output_tokens"], summary["total_cost_usd"])


async def test_rest_fallback_202_sse_then_state_and_usage(
    api_server: str, local_worker: Worker, make_token: Callable[[str], str], tenant_id: str,
) -> None:
    token = make_token(tenant_id)
    pid = await _project(api_server, token)
    async with httpx.AsyncClient(base_url=api_server, timeout=TURN_TIMEOUT_S,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        accepted = await client.post(f"/api/projects/{pid}/chat",
                                     json={"content": "Resuma #sim:text"})
        assert accepted.status_code == 202, accepted.text
        body = accepted.json()
        async with client.stream("GET", body["events_url"]) as stream:
            text = (await stream.aread()).decode()
        events = [line[7:] for line in text.splitlines() if line.startswith("event: ")]
        ids = [int(line[4:]) for line in text.splitlines() if line.startswith("id: ")]
        assert events[0] == "job_queued" and events[-1] == "session_end", events
        assert ids == list(range(1, len(ids) + 1))
        job = (await client.get(body["status_url"])).json()
        assert job["state"] == "succeeded", job
        assert job["usage"]["output_tokens"] > 0
        usage = (await client.get(f"/api/projects/{pid}/token-usage")).json()
        assert usage["totals"]["turns"] == 1
        assert usage["totals"]["output_tokens"] == job["usage"]["output_tokens"]


async def test_ws_cancel_of_a_running_turn_ends_it_within_2s(
    api_server: str, local_worker: Worker, make_token: Callable[[str], str], tenant_id: str,
) -> None:
    token = make_token(tenant_id)
    pid = await _project(api_server, token)
    url = api_server.replace("http://", "ws://") + f"/ws/chat/{pid}"
    async with connect(url, subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        await ws.send(orjson.dumps({"type": "message", "content": "Longo #sim:slow"}).decode())
        deadline = time.monotonic() + TURN_TIMEOUT_S
        while True:  # wait until text streams: the turn is really running
            assert time.monotonic() < deadline
            frame = orjson.loads(await ws.recv())
            if frame["type"] == "assistant_chunk":
                break
        await ws.send(orjson.dumps({"type": "cancel"}).decode())
        asked = time.monotonic()
        while frame["type"] not in ("session_end", "error", "cancelled"):
            frame = orjson.loads(await ws.recv())
        took = time.monotonic() - asked
    assert frame["type"] == "cancelled", frame
    assert took < 2.0, took
    assert frame["usage"]["input_tokens"] > 0
