"""app/events.py against a real Redis: seq, header and payload of published frames."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from redis.asyncio import Redis

from app.errors import ErrorCode
from app.events import EventPublisher, frame_header, read_events
from app.keys import events_key, producers_key, seq_key, terminal_key
from app.protocol import (
    AssistantChunkFrame,
    ErrorFrame,
    JobStartedFrame,
    ServerFrame,
    SessionEndFrame,
    ToolUseFrame,
    UsageFrame,
    UsageSummary,
    server_frame_adapter,
)

JOB = "job-events-test"


def every_kind_of_frame() -> list[ServerFrame]:
    return [
        JobStartedFrame(job_id=JOB, model="claude-x", claude_session_id="s1"),
        AssistantChunkFrame(job_id=JOB, content='"seq":99,"type":"error" ünï \n', message_id="m"),
        ToolUseFrame(job_id=JOB, tool="Read", input={"type": "error", "seq": 7}, tool_use_id="t"),
        UsageFrame(job_id=JOB, input_tokens=3, output_tokens=4),
        SessionEndFrame(job_id=JOB, total_cost_usd=0.5, usage_summary=UsageSummary(),
                        duration_ms=10, num_turns=1, is_error=False, result="ok"),
    ]


@pytest.fixture
async def redis(redis_url: str):  # type: ignore[no-untyped-def]
    client = Redis.from_url(redis_url)
    job_keys = [events_key(JOB), seq_key(JOB), terminal_key(JOB), producers_key(JOB)]
    await client.delete(*job_keys)
    yield client
    await client.delete(*job_keys)
    await client.aclose()


async def test_published_frames_carry_contiguous_seq_and_a_readable_header(redis: Redis) -> None:
    publisher = EventPublisher(redis, maxlen=100, ttl_s=60)
    sent = every_kind_of_frame()
    assert await publisher.publish(JOB, sent[:2]) == [1, 2]
    assert await publisher.publish(JOB, sent[2:]) == [3, 4, 5]

    raws = await read_events(redis, JOB)
    for seq, (raw, original) in enumerate(zip(raws, sent, strict=True), start=1):
        parsed = server_frame_adapter.validate_json(raw)
        assert parsed.seq == seq
        assert parsed.model_dump(exclude={"seq"}) == original.model_dump(exclude={"seq"})
        header = frame_header(raw)
        data = orjson.loads(raw)
        assert (header.seq, header.type, header.ts) == (data["seq"], data["type"], data["ts"])
    assert [frame_header(r).seq for r in await read_events(redis, JOB, after_seq=3)] == [4, 5]
    paged = await read_events(redis, JOB, after_seq=1, count=2)  # several XRANGE pages
    assert [frame_header(r).seq for r in paged] == [2, 3, 4, 5]
    assert await redis.ttl(events_key(JOB)) > 0  # the terminal frame set the expiry


async def test_a_frame_without_a_job_still_parses() -> None:
    frame = ErrorFrame(code=ErrorCode.BAD_REQUEST, message="no")
    raw = frame.model_dump_json().encode()
    header = frame_header(raw)  # not the published layout: falls back to parsing
    assert (header.seq, header.type) == (0, "error")


async def test_nothing_is_published_after_the_terminal_frame(redis: Redis) -> None:
    publisher = EventPublisher(redis, maxlen=100, ttl_s=60)
    end = every_kind_of_frame()[-1]
    assert await publisher.publish(JOB, [UsageFrame(job_id=JOB), end]) == [1, 2]
    late = [UsageFrame(job_id=JOB), ErrorFrame(job_id=JOB, code=ErrorCode.WORKER_LOST,
                                                message="lost")]
    assert await publisher.publish(JOB, late) == [0, 0]
    assert [frame_header(r).type for r in await read_events(redis, JOB)] == [
        "usage", "session_end"]


async def test_a_numbered_batch_sent_again_is_not_published_twice(redis: Redis) -> None:
    publisher = EventPublisher(redis, maxlen=100, ttl_s=60)
    frames = [UsageFrame(job_id=JOB, input_tokens=i) for i in range(4)]
    assert await publisher.publish(JOB, frames[:3], producer="run", first_index=0) == [1, 2, 3]
    # the reply was lost: the producer sends from index 1 again, with one more frame
    assert await publisher.publish(JOB, frames[1:], producer="run", first_index=1) == [0, 0, 4]
    tokens = [orjson.loads(r)["input_tokens"] for r in await read_events(redis, JOB)]
    assert tokens == [0, 1, 2, 3]


async def test_coalesced_publishes_of_many_jobs_keep_each_job_in_order(redis: Redis) -> None:
    publisher = EventPublisher(redis, maxlen=1000, ttl_s=60, coalesce=True)
    jobs = [f"{JOB}-{n}" for n in range(50)]

    async def turn(job: str) -> list[int]:
        seqs = []
        for i in range(20):
            seqs += await publisher.publish(job, [UsageFrame(job_id=job, input_tokens=i)],
                                            producer="run", first_index=i)
        return seqs

    results = await asyncio.gather(*(turn(job) for job in jobs))
    for job, seqs in zip(jobs, results, strict=True):
        assert seqs == list(range(1, 21))
        stored = [orjson.loads(r)["input_tokens"] for r in await read_events(redis, job)]
        assert stored == list(range(20))
    await redis.delete(*(k for job in jobs for k in (
        events_key(job), seq_key(job), producers_key(job))))
