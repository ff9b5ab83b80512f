"""Billing end to end: a resumed session through the real API, Celery worker, tenant
container and claude binary; each stored turn against what the simulator billed for that
turn's API requests, and the usage API and limits against the stored turns."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest
import websockets

from app.models import TokenUsageLog
from app.protocol import is_terminal

pytestmark = pytest.mark.usefixtures("clean_db", "db", "celery_worker")

TOLERANCE = 0.01


@pytest.fixture
def client(api_server: str, make_token: Callable[[str], str], tenant_id: str) -> httpx.Client:
    return httpx.Client(base_url=api_server, timeout=30,
                        headers={"authorization": f"Bearer {make_token(tenant_id)}"})


@pytest.fixture
def project_id(client: httpx.Client) -> str:
    response = client.post("/api/projects", json={"name": "billing"})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


class Chat:
    """One socket of one chat session; each turn waits for the one before it."""

    def __init__(self, ws: Any, sim_url: str) -> None:
        self.ws, self.sim_url = ws, sim_url
        self.claude_session_id: str | None = None

    async def turn(self, content: str, *, cancel_after_chunks: int = 0) -> dict[str, Any]:
        """Send a message; its frames, and what the simulator billed for its requests."""
        before = httpx.get(f"{self.sim_url}/_sim/billed").json()["last_seq"]
        await self.ws.send(orjson.dumps({"type": "message", "content": content}))
        frames: list[dict[str, Any]] = []
        chunks = 0
        deadline = time.monotonic() + 90
        while not (frames and is_terminal(frames[-1]["type"])):
            assert time.monotonic() < deadline, frames[-3:]
            frame = orjson.loads(await self.ws.recv())
            if frame["type"] == "pong":
                continue
            frames.append(frame)
            if frame["type"] == "job_started":
                self.claude_session_id = frame["claude_session_id"]
            if frame["type"] == "assistant_chunk":
                chunks += 1
                if chunks == cancel_after_chunks:
                    await self.ws.send(orjson.dumps({"type": "cancel",
                                                     "job_id": frame["job_id"]}))
        time.sleep(0.3)  # a stream cut by the cancel is billed once the simulator sees it close
        billed = httpx.get(f"{self.sim_url}/_sim/billed", params={
            "after": before, "session": self.claude_session_id}).json()
        assert billed["pending"] == 0 and not billed["unpriced"]
        return {"frames": frames, "job_id": frames[0]["job_id"], "billed": billed}


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * b


async def _stored(job_id: str) -> TokenUsageLog:
    from bson import ObjectId

    log = await TokenUsageLog.find_one({"job_id": ObjectId(job_id)})
    assert log is not None, job_id
    return log


def _ws(api_server: str, project_id: str, token: str) -> Any:
    return websockets.connect(api_server.replace("http://", "ws://") + f"/ws/chat/{project_id}",
                              subprotocols=["bearer", token],  # type: ignore[list-item]
                              max_size=None)


async def test_four_resumed_turns_each_cost_what_the_api_billed_for_it(
    api_server: str, sim_url: str, make_token: Callable[[str], str], tenant_id: str,
    project_id: str, client: httpx.Client,
) -> None:
    prompts = ["Explain the project", "Read README.md and summarise it #sim:tool",
               "And now?", "One last question"]
    async with _ws(api_server, project_id, make_token(tenant_id)) as ws:
        chat = Chat(ws, sim_url)
        turns = [await chat.turn(p) for p in prompts]
    costs, billed = [], []
    for turn in turns:
        end = turn["frames"][-1]
        assert end["type"] == "session_end", end
        log = await _stored(turn["job_id"])
        sim = turn["billed"]["total_usd"]
        assert close(log.total_cost_usd, sim), (log.total_cost_usd, sim)
        assert log.claude_cost_usd is not None and close(log.claude_cost_usd, sim)
        assert log.priced_cost_usd is not None and close(log.priced_cost_usd, sim)
        assert log.input_tokens == sum(m["input_tokens"]
                                       for m in turn["billed"]["by_model"].values())
        # the UI's figure is the stored one, not Claude Code's running total
        assert end["total_cost_usd"] == pytest.approx(log.total_cost_usd)
        assert end["usage_summary"]["basis"] == log.basis
        costs.append(log.total_cost_usd)
        billed.append(sim)
    assert [(await _stored(t["job_id"])).basis for t in turns] == [
        "first", "delta", "delta", "delta"]
    assert turns[-1]["frames"][-1]["total_cost_usd"] < 2 * costs[0]
    report = client.get(f"/api/projects/{project_id}/token-usage").json()
    assert report["totals"]["cost_usd"] == pytest.approx(sum(costs), abs=1e-6)
    assert report["totals"]["turns"] == 4
    limits = client.get("/api/limits").json()
    assert limits["use"]["cost_this_month_usd"] == pytest.approx(sum(billed), rel=TOLERANCE)


async def test_a_cancelled_resumed_turn_is_counted_once_and_the_next_turn_is_whole(
    api_server: str, sim_url: str, make_token: Callable[[str], str], tenant_id: str,
    project_id: str,
) -> None:
    async with _ws(api_server, project_id, make_token(tenant_id)) as ws:
        chat = Chat(ws, sim_url)
        first = await chat.turn("Explain the project")
        cut = await chat.turn("A long answer please #sim:slow", cancel_after_chunks=3)
        after = await chat.turn("Go on")
    assert cut["frames"][-1]["type"] == "cancelled"
    cut_log, after_log = await _stored(cut["job_id"]), await _stored(after["job_id"])
    billed_input = sum(m["input_tokens"] for m in cut["billed"]["by_model"].values())
    assert cut_log.input_tokens == billed_input and cut_log.total_cost_usd > 0
    assert cut["frames"][-1]["usage"]["total_cost_usd"] == pytest.approx(cut_log.total_cost_usd)
    assert after_log.basis == "delta"
    assert close(after_log.total_cost_usd, after["billed"]["total_usd"])
    assert after_log.input_tokens == sum(m["input_tokens"]
                                         for m in after["billed"]["by_model"].values())
    assert close((await _stored(first["job_id"])).total_cost_usd, first["billed"]["total_usd"])
