"""Job events in Redis (DESIGN §7): a capped Stream per job for replay and a pub/sub
channel of the same name for live delivery, written together by one atomic script that
also assigns the next seq, so order holds and seq has no gaps whoever publishes.

The script also makes publishing safe to retry: nothing is published after a job's
terminal frame (so a job has exactly one, whoever tries to end it), and a producer that
numbers its frames (the worker running the turn) never gets a frame published twice when
it sends a batch again after a lost reply."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from app.keys import events_key, producers_key, seq_key, terminal_key
from app.protocol import ServerFrame, is_terminal

__all__ = ["EventPublisher", "FrameHeader", "frame_body", "frame_header", "read_events"]

# KEYS: stream (= channel), seq counter, terminal flag, producers hash.
# ARGV: maxlen, ttl_s, producer ('' = none), index of the first frame, then per frame:
# type, body, terminal. `body` is the frame's JSON without `seq` and `type`, starting with
# `job_id` and `ts`; the script writes `{"seq":N,"type":"T",` before it, so every published
# frame starts with the same header and the relay reads seq and type without parsing JSON.
# Returns, per frame, the seq it got, or 0 when it was not published (a producer's frame
# already published, or any frame after the terminal one).
_PUBLISH_LUA = """
local out = {}
local producer = ARGV[3]
local index = tonumber(ARGV[4])
local last = -1
if producer ~= '' then last = tonumber(redis.call('HGET', KEYS[4], producer) or '-1') end
local ended = redis.call('EXISTS', KEYS[3]) == 1
local published = last
local n = 5
while ARGV[n] do
  if ended or index <= last then
    table.insert(out, 0)
  else
    local seq = redis.call('INCR', KEYS[2])
    local frame = '{"seq":' .. seq .. ',"type":"' .. ARGV[n] .. '",' .. string.sub(ARGV[n + 1], 2)
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], seq .. '-0', 'frame', frame)
    redis.call('PUBLISH', KEYS[1], frame)
    published = index
    table.insert(out, seq)
    if ARGV[n + 2] == '1' then
      ended = true
      redis.call('SET', KEYS[3], seq)
      for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ARGV[2]) end
    end
  end
  index = index + 1
  n = n + 3
end
if producer ~= '' and published > last then
  redis.call('HSET', KEYS[4], producer, published)
  redis.call('EXPIRE', KEYS[4], ARGV[2])
end
return out
"""
_HEADER = re.compile(rb'\{"seq":(\d+),"type":"(\w+)","job_id":(?:"[^"]*"|null),"ts":"([^"]+)"')


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

    async def publish(
        self, job_id: str, frames: Sequence[ServerFrame], *, producer: str = "",
        first_index: int = 0,
    ) -> list[int]:
        """Publish frames in order; the seq given to each (0: not published).

        With `producer`, frame i of the batch is that producer's frame `first_index + i`,
        and one already published is skipped: sending a batch again is harmless."""
        if not frames:
            return []
        args: list[Any] = [self._maxlen, self._ttl_s, producer, first_index]
        for frame in frames:
            args += [frame.type, frame_body(frame), "1" if is_terminal(frame.type) else "0"]
        keys = [events_key(job_id), seq_key(job_id), terminal_key(job_id),
                producers_key(job_id)]
        seqs = await self._script(keys=keys, args=args)
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
