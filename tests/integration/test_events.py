"""app/events.py against a real Redis: seq, header and payload of published frames."""

from __future__ import annotations

import orjson
import pytest
from redis.asyncio import Redis

from app.errors import ErrorCode
from app.events import EventPublisher, events_key, frame_header, read_events
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
    await client.delete(events_key(JOB), f"wx:job:{JOB}:seq")
    yield client
    await client.delete(events_key(JOB), f"wx:job:{JOB}:seq")
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
