"""tasks/frame_pump.py against a real Redis of its own: the frames of many turns share
script calls, each turn's frames arrive once and in order, through a Redis restart too."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlparse

import orjson
import pytest
from redis.asyncio import Redis

from app.events import EventPublisher, read_events
from app.protocol import ServerFrame, UsageFrame
from tasks.frame_pump import FramePump
from tests.helpers import OwnedProcess, start_listening, start_redis_server

FRAMES = 60


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[OwnedProcess, str]]:
    (tmp_path / "redis").mkdir()
    proc, url = start_redis_server(tmp_path / "redis", tmp_path / "redis.log")
    yield proc, url
    proc.stop()


@pytest.fixture
async def redis(own_redis: tuple[OwnedProcess, str]) -> AsyncIterator[Redis]:
    client = Redis.from_url(own_redis[1])
    yield client
    await client.aclose()


def frames_of(job: str, start: int, count: int) -> list[ServerFrame]:
    return [UsageFrame(job_id=job, input_tokens=i) for i in range(start, start + count)]


async def stored(redis: Redis, job: str) -> list[int]:
    return [orjson.loads(raw)["input_tokens"] for raw in await read_events(redis, job)]


async def script_calls(redis: Redis) -> int:
    stats = await redis.info("commandstats")
    return sum(int(stats.get(f"cmdstat_{name}", {}).get("calls", 0))
               for name in ("evalsha", "eval"))


async def test_many_turns_share_calls_and_each_keeps_its_order(redis: Redis) -> None:
    publisher = EventPublisher(redis, maxlen=1000, ttl_s=60)
    pump = FramePump(publisher)
    jobs = [uuid.uuid4().hex for _ in range(50)]

    async def turn(job: str) -> None:
        feed = pump.feed(job, producer="run")
        for i in range(FRAMES):
            await feed.put(frames_of(job, i, 1))
            await asyncio.sleep(0.001)
        left = await feed.close()  # what the pump had not sent goes with the turn's ending
        await publisher.publish(job, left, producer="run", first_index=feed.next_index)

    calls_before = await script_calls(redis)
    await asyncio.gather(*(turn(job) for job in jobs))
    calls = await script_calls(redis) - calls_before
    await pump.close()
    for job in jobs:
        assert await stored(redis, job) == list(range(FRAMES))
    # one call per frame would be 3,000
    assert calls < len(jobs) * FRAMES / 5, calls


async def test_frames_put_while_redis_is_down_arrive_once_after_it_returns(
    own_redis: tuple[OwnedProcess, str], redis: Redis, tmp_path: Path
) -> None:
    proc, url = own_redis
    pump = FramePump(EventPublisher(redis, maxlen=1000, ttl_s=60))
    job = uuid.uuid4().hex
    feed = pump.feed(job, producer="run")
    await feed.put(frames_of(job, 0, 10))
    await _until(lambda: feed.next_index == 10)

    proc.stop()
    await feed.put(frames_of(job, 10, 10))
    await asyncio.sleep(0.5)  # a few failed rounds
    again = _same_redis_again(url, tmp_path)
    try:
        await feed.put(frames_of(job, 20, 10))
        await _until(lambda: feed.next_index == 30, timeout=20)
        assert await feed.close() == []
        await pump.close()
        # the new server started empty: it holds every frame sent since, once, in order
        assert await stored(redis, job) == list(range(10, 30))
    finally:
        again.stop()


def _same_redis_again(url: str, tmp_path: Path) -> OwnedProcess:
    """A new redis-server on the port and password of `url` (nothing kept on disk)."""
    parsed = urlparse(url)
    assert parsed.port is not None and parsed.password is not None
    (tmp_path / "redis-again").mkdir()
    return start_listening(
        [str(shutil.which("redis-server")), "--port", str(parsed.port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--dir", str(tmp_path / "redis-again"),
         "--requirepass", parsed.password],
        port=parsed.port, what="redis", log=tmp_path / "redis-again.log")


async def test_close_waits_for_the_round_in_flight_and_hands_back_the_rest(
    redis: Redis,
) -> None:
    pump = FramePump(EventPublisher(redis, maxlen=1000, ttl_s=60))
    job = uuid.uuid4().hex
    feed = pump.feed(job, producer="run")
    await feed.put(frames_of(job, 0, 5))
    await _until(lambda: feed.next_index == 5)
    await redis.execute_command("CLIENT", "PAUSE", "1500", "WRITE")  # the next round hangs
    await feed.put(frames_of(job, 5, 5))
    await _until(lambda: feed.in_flight)
    await feed.put(frames_of(job, 10, 5))  # behind the round in flight
    left = await asyncio.wait_for(feed.close(), timeout=15)
    await pump.close()
    assert [f.input_tokens for f in left] == list(range(10, 15))  # type: ignore[attr-defined]
    assert await stored(redis, job) == list(range(10))


async def _until(condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
