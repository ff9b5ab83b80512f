"""The relay against a real Redis: replay then live with no gap and no duplicate, a
follower that falls behind its bounded queue, and a listener that dies."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from app.events import EventPublisher, frame_header
from app.protocol import AssistantChunkFrame, SessionEndFrame, UsageSummary
from app.relay import Relay


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url.rsplit("/", 1)[0] + "/2")
    yield client
    await client.aclose()


@pytest.fixture
async def relay(redis: Redis) -> AsyncIterator[Relay]:
    relay = Relay(redis, queue_size=4, heartbeat_s=0.2, idle_reread_s=30)
    await relay.start()
    yield relay
    await relay.close()


def _frames(job_id: str, n: int) -> list[AssistantChunkFrame | SessionEndFrame]:
    frames: list[AssistantChunkFrame | SessionEndFrame] = [
        AssistantChunkFrame(job_id=job_id, content=str(i), message_id="m") for i in range(n)]
    frames.append(SessionEndFrame(job_id=job_id, total_cost_usd=0, usage_summary=UsageSummary(),
                                  duration_ms=1, num_turns=1, is_error=False, result=""))
    return frames


async def _collect(relay: Relay, job_id: str, after_seq: int = 0, delay: float = 0) -> list[int]:
    seqs = []
    async for raw in relay.follow(job_id, after_seq=after_seq):
        seqs.append(frame_header(raw).seq)
        if delay:
            await asyncio.sleep(delay)
    return seqs


async def _publish_slowly(publisher: EventPublisher, job_id: str, frames: list, every: int = 20,
                          pause: float = 0.002, before: asyncio.Event | None = None) -> None:
    for i, frame in enumerate(frames):
        if before is not None and i == len(frames) // 2:
            before.set()
            await asyncio.sleep(0.6)  # time for the watchdog to notice and rebuild
        await publisher.publish(job_id, [frame])
        if i % every == 0:
            await asyncio.sleep(pause)


async def test_replay_then_live_while_publishing(redis: Redis, relay: Relay) -> None:
    job_id = uuid.uuid4().hex
    publisher = EventPublisher(redis, maxlen=10_000, ttl_s=600)
    frames = _frames(job_id, 300)
    await publisher.publish(job_id, frames[:50])
    followers = [asyncio.create_task(_collect(relay, job_id, after_seq=k)) for k in (0, 10, 49)]
    await _publish_slowly(publisher, job_id, frames[50:])
    results = await asyncio.wait_for(asyncio.gather(*followers), 20)
    for k, seqs in zip((0, 10, 49), results, strict=True):
        assert seqs == list(range(k + 1, len(frames) + 1))
    assert relay.open_followers == 0


async def test_a_slow_follower_overflows_and_rereads_the_stream(redis: Redis, relay: Relay) -> None:
    job_id = uuid.uuid4().hex
    publisher = EventPublisher(redis, maxlen=10_000, ttl_s=600)
    frames = _frames(job_id, 200)
    follower = asyncio.create_task(_collect(relay, job_id, delay=0.002))
    await asyncio.sleep(0.1)
    await _publish_slowly(publisher, job_id, frames, every=1000)  # a burst: queue of 4 overflows
    assert await asyncio.wait_for(follower, 20) == list(range(1, len(frames) + 1))
    assert relay.overflows >= 1


async def test_a_dead_listener_is_rebuilt_and_nothing_is_lost(redis: Redis, relay: Relay) -> None:
    job_id = uuid.uuid4().hex
    publisher = EventPublisher(redis, maxlen=10_000, ttl_s=600)
    frames = _frames(job_id, 100)
    follower = asyncio.create_task(_collect(relay, job_id))
    await asyncio.sleep(0.1)
    killed = asyncio.Event()

    async def kill_listener() -> None:
        await killed.wait()
        relay._listener.cancel()  # type: ignore[union-attr]  # the listener dies

    killer = asyncio.create_task(kill_listener())
    await _publish_slowly(publisher, job_id, frames, before=killed)
    await killer
    assert await asyncio.wait_for(follower, 20) == list(range(1, len(frames) + 1))
    assert relay.rebuilds >= 1


async def test_a_killed_pubsub_connection_loses_nothing(redis: Redis, relay: Relay) -> None:
    job_id = uuid.uuid4().hex
    publisher = EventPublisher(redis, maxlen=10_000, ttl_s=600)
    frames = _frames(job_id, 100)
    follower = asyncio.create_task(_collect(relay, job_id))
    await asyncio.sleep(0.1)
    killed = asyncio.Event()

    async def kill_connection() -> None:
        await killed.wait()
        await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")

    killer = asyncio.create_task(kill_connection())
    await _publish_slowly(publisher, job_id, frames, before=killed)
    await killer
    assert await asyncio.wait_for(follower, 20) == list(range(1, len(frames) + 1))
