"""A chat client that survives what the faults do to it (it reconnects, to another API if
told, and resumes after its last seq, as the browser does), and the verdict of a trial:
what the client saw and what was stored, against what must hold."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from bson import ObjectId
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from app.protocol import is_terminal
from tests.faults.world import World
from workers.standin import stamps

TERMINAL = ("session_end", "error", "cancelled")


@dataclass
class ChatClient:
    """One browser tab: one socket at a time, following one job."""

    url_of: Callable[[], str]  # the API to (re)connect to
    token: str
    project_id: str
    tenant: str = ""
    max_queue: int | None = 16
    job_id: str | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    reconnects: int = 0
    _ws: ClientConnection | None = None

    async def connect(self) -> None:
        url = f"{self.url_of().replace('http://', 'ws://')}/ws/chat/{self.project_id}"
        # No size cap: a session_end frame repeats the whole answer (several MB here).
        self._ws = await connect(url, subprotocols=["bearer", self.token],  # type: ignore[list-item]
                                 max_queue=self.max_queue, max_size=None, open_timeout=10)

    async def send(self, content: str, *, context: str = "analysis",
                   session_id: str | None = None) -> str:
        """Send a message; the job id of the turn it queued."""
        if self._ws is None:
            await self.connect()
        assert self._ws is not None
        frame: dict[str, Any] = {"type": "message", "content": content, "context": context}
        if session_id:
            frame["session_id"] = session_id
        await self._ws.send(orjson.dumps(frame).decode())
        while self.job_id is None:
            got = orjson.loads(await asyncio.wait_for(self._ws.recv(), 30))
            if got["type"] == "error" and not got.get("job_id"):
                raise AssertionError(f"message refused: {got}")
            self._take(got)
        return self.job_id

    @property
    def last_seq(self) -> int:
        return max((f["seq"] for f in self.frames), default=0)

    @property
    def session_id(self) -> str:
        return str(next(f["session_id"] for f in self.frames if f["type"] == "job_queued"))

    @property
    def ended(self) -> bool:
        return any(f["type"] in TERMINAL for f in self.frames)

    def text(self) -> str:
        return "".join(f["content"] for f in self.frames if f["type"] == "assistant_chunk")

    async def reconnect(self, url_of: Callable[[], str] | None = None) -> None:
        """Drop the socket, open a new one and resume after the last seq seen."""
        if url_of is not None:
            self.url_of = url_of
        if self._ws is not None:
            await self._ws.close()
        self.reconnects += 1
        await self._connect_and_resume()

    async def follow(self, timeout: float, *, until: Callable[[ChatClient], bool] | None = None,
                     pace_s: float = 0.0) -> None:
        """Read frames until the terminal one (or `until`), reconnecting when dropped."""
        deadline = time.monotonic() + timeout
        while not self.ended and not (until and until(self)):
            if time.monotonic() > deadline:
                raise AssertionError(f"job {self.job_id}: no terminal frame after {timeout}s "
                                     f"(last seq {self.last_seq})")
            try:
                assert self._ws is not None
                raw = await asyncio.wait_for(self._ws.recv(), max(0.1, deadline -
                                                                  time.monotonic()))
            except (ConnectionClosed, OSError):
                self.reconnects += 1
                await self._connect_and_resume(deadline)
                continue
            except TimeoutError:
                continue
            self._take(orjson.loads(raw))
            if pace_s:
                await asyncio.sleep(pace_s)

    async def read_one(self, timeout: float = 5.0) -> None:
        """Read one frame (or none within `timeout`, or none after the terminal frame)."""
        if self.ended:
            return
        assert self._ws is not None
        try:
            self._take(orjson.loads(await asyncio.wait_for(self._ws.recv(), timeout)))
        except TimeoutError:
            return

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()

    async def _connect_and_resume(self, deadline: float | None = None) -> None:
        deadline = deadline or time.monotonic() + 60
        while True:
            try:
                await self.connect()
                break
            except (OSError, InvalidStatus, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)
        assert self._ws is not None and self.job_id is not None
        await self._ws.send(orjson.dumps({"type": "resume", "job_id": self.job_id,
                                          "after_seq": self.last_seq}).decode())

    def _take(self, frame: dict[str, Any]) -> None:
        if frame.get("type") == "pong" or not frame.get("job_id"):
            return
        if self.job_id is None and frame["type"] == "job_queued":
            self.job_id = str(frame["job_id"])
        if frame["job_id"] == self.job_id:
            self.frames.append(frame)


@dataclass
class Verdict:
    """What one trial showed."""

    job_id: str
    terminal: str
    code: str | None
    state: str
    frames_lost: int
    frames_duplicated: int
    stream_gaps: int
    terminal_frames: int
    usage_rows: int
    usage_rows_lost: int
    usage_double_counted: int
    stamps_lost: int
    stamps_duplicated: int
    complete_answer: bool
    reconnects: int
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def complete_reported_as_error(self) -> bool:
        return self.complete_answer and self.terminal != "session_end"

    def problems(self, *, expect_terminal: str | None = None,
                 expect_state: str | None = None) -> list[str]:
        found = []
        for name in ("frames_lost", "frames_duplicated", "stream_gaps", "usage_rows_lost",
                     "usage_double_counted", "stamps_duplicated"):
            if getattr(self, name):
                found.append(f"{name}={getattr(self, name)}")
        if self.terminal_frames != 1:
            found.append(f"{self.terminal_frames} terminal frames")
        if self.state not in ("succeeded", "failed", "cancelled"):
            found.append(f"job left {self.state}")
        if self.complete_reported_as_error:
            found.append(f"a complete answer reported as {self.terminal}/{self.code}")
        if expect_terminal and self.terminal != expect_terminal:
            found.append(f"ended {self.terminal}/{self.code}, expected {expect_terminal}")
        if expect_state and self.state != expect_state:
            found.append(f"job {self.state}, expected {expect_state}")
        if self.terminal == "session_end" and self.stamps_lost:
            found.append(f"stamps_lost={self.stamps_lost}")
        return found


async def judge(world: World, client: ChatClient, *, deltas: int | None = None) -> Verdict:
    """The verdict of the client's turn once it ended: frames seen against the job's stream,
    the stored job and usage, and (stand-in turns) the stamps of the answer."""
    assert client.job_id is not None
    job_id = client.job_id
    seqs = [int(f["seq"]) for f in client.frames]
    terminal = next(f for f in reversed(client.frames) if f["type"] in TERMINAL)
    with world.redis_client() as redis:
        entries: list[Any] = redis.xrange(f"wx:job:{job_id}:events")  # type: ignore[assignment]
        stream = [orjson.loads(fields[b"frame"]) for _id, fields in entries]
    stream_seqs = [int(f["seq"]) for f in stream]
    state, rows, usage = await _stored(world, job_id)
    text = client.text()
    seen = [k for k, _ in stamps(text)]
    counts = Counter(seen)
    expected = set(range(deltas)) if deltas else set()
    complete = bool(expected) and expected <= set(seen)
    emitted = max(seen) + 1 if seen else 0
    return Verdict(
        job_id=job_id, terminal=terminal["type"], code=terminal.get("code"), state=state,
        frames_lost=len(set(range(1, max(seqs) + 1)) - set(seqs)),
        frames_duplicated=len(seqs) - len(set(seqs)),
        stream_gaps=len(set(range(1, max(stream_seqs, default=0) + 1)) - set(stream_seqs)),
        terminal_frames=sum(1 for f in stream if is_terminal(f["type"])),
        usage_rows=rows,
        usage_rows_lost=0 if rows == 1 else 1,
        usage_double_counted=int(rows > 1 or (deltas is not None and usage is not None
                                              and usage.get("output_tokens", 0) > emitted)),
        stamps_lost=len(expected - set(seen)) if expected else 0,
        stamps_duplicated=sum(c - 1 for c in counts.values() if c > 1),
        complete_answer=complete, reconnects=client.reconnects,
        notes={"frames": len(client.frames), "output_tokens": (usage or {}).get(
            "output_tokens")},
    )


async def _stored(world: World, job_id: str) -> tuple[str, int, dict[str, Any] | None]:
    """The job's state (once terminal, or after 30 s) and its usage rows."""
    deadline = time.monotonic() + 30
    with world.mongo_client() as db:
        while True:
            job = db.jobs.find_one({"_id": ObjectId(job_id)}) or {}
            if job.get("state") in ("succeeded", "failed", "cancelled") or (
                    time.monotonic() > deadline):
                break
            await asyncio.sleep(0.2)
        rows = list(db.token_usage_logs.find({"job_id": ObjectId(job_id)}))
    return str(job.get("state")), len(rows), (rows[0] if rows else None)
