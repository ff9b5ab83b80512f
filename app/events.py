"""Job events in Redis (DESIGN §7): a capped Stream per job for replay and a pub/sub
channel of the same name for live delivery, written together by one atomic script that
also assigns the next seq, so order holds and seq has no gaps whoever publishes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from app.protocol import ServerFrame, is_terminal

EVENTS_PATTERN = "wx:job:*:events"

# KEYS: stream(=channel), seq counter. ARGV: maxlen, ttl_s, then per frame: type, body,
# terminal. `body` is the frame's JSON without `seq` and `type`, starting with `job_id` and
# `ts`; the script writes `{"seq":N,"type":"T",` before it, so every published frame
# starts with the same header and the relay reads seq and type without parsing JSON.
_PUBLISH_LUA = """
local out = {}
local n = 3
while ARGV[n] do
  local seq = redis.call('INCR', KEYS[2])
  local frame = '{"seq":' .. seq .. ',"type":"' .. ARGV[n] .. '",' .. string.sub(ARGV[n + 1], 2)
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], seq .. '-0', 'frame', frame)
  redis.call('PUBLISH', KEYS[1], frame)
  if ARGV[n + 2] == '1' then
    redis.call('EXPIRE', KEYS[1], ARGV[2])
    redis.call('EXPIRE', KEYS[2], ARGV[2])
  end
  table.insert(out, seq)
  n = n + 3
end
return out
"""
_HEADER = re.compile(rb'\{"seq":(\d+),"type":"(\w+)","job_id":(?:"[^"]*"|null),"ts":"([^"]+)"')


def events_key(job_id: str) -> str:
    return f"wx:job:{job_id}:events"


def _seq_key(job_id: str) -> str:
    return f"wx:job:{job_id}:seq"


def frame_body(frame: ServerFrame) -> bytes:
    """The frame as JSON without `seq` (the publisher assigns it) and `type` (the
    publisher writes it in the header); `job_id` and `ts` come first."""
    data = frame.model_dump(mode="json", exclude={"seq", "type"})
    head = {"job_id": data.pop("job_id"), "ts": data.pop("ts")}
    return orjson.dumps(head | data)


class EventPublisher:
    """Publishes a job's frames: seq assigned atomically, stream + channel in one step."""

    def __init__(self, redis: Redis, *, maxlen: int, ttl_s: int) -> None:
        self._redis = redis
        self._maxlen = maxlen
        self._ttl_s = ttl_s
        self._script = redis.register_script(_PUBLISH_LUA)

    async def publish(self, job_id: str, frames: Sequence[ServerFrame]) -> list[int]:
        """Publish frames in order; returns the seq given to each."""
        if not frames:
            return []
        args: list[Any] = [self._maxlen, self._ttl_s]
        for frame in frames:
            args += [frame.type, frame_body(frame), "1" if is_terminal(frame.type) else "0"]
        seqs = await self._script(keys=[events_key(job_id), _seq_key(job_id)], args=args)
        return [int(s) for s in seqs]


async def read_events(
    redis: Redis, job_id: str, *, after_seq: int = 0, count: int = 1000
) -> list[bytes]:
    """Frames of a job with seq > after_seq, from its stream, oldest first (raw JSON).
    A frame's stream entry id is `<seq>-0`, so the read starts right after after_seq."""
    frames: list[bytes] = []
    start = f"({after_seq}-0"
    while True:
        entries: list[Any] = await redis.xrange(events_key(job_id), min=start, max="+",
                                                count=count) or []
        frames += [bytes(fields[b"frame"]) for _entry_id, fields in entries]
        if len(entries) < count:
            return frames
        start = "(" + entries[-1][0].decode()


@dataclass(frozen=True, slots=True)
class FrameHeader:
    seq: int
    type: str
    ts: str


def frame_header(frame: bytes) -> FrameHeader:
    """seq, type and ts of a published frame, read from its fixed header (the relay
    handles every frame for every socket: no JSON parse of multi-MB frames here)."""
    match = _HEADER.match(frame, 0, 512)
    if match is not None:
        return FrameHeader(int(match[1]), match[2].decode(), match[3].decode())
    data = orjson.loads(frame)
    return FrameHeader(int(data["seq"]), str(data["type"]), str(data["ts"]))
