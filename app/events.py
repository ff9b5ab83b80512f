"""Job events in Redis (DESIGN §7): a capped Stream per job for replay and a pub/sub
channel of the same name for live delivery, written together by one atomic script that
also assigns the next seq, so order holds and seq has no gaps whoever publishes.

The script also makes publishing safe to retry: nothing is published after a job's
terminal frame (so a job has exactly one, whoever tries to end it), and a producer that
numbers its frames (the worker running the turn) never gets a frame published twice when
it sends a batch again after a lost reply."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from app.keys import (
    EVENTS_SUFFIX,
    JOB_PREFIX,
    PRODUCERS_SUFFIX,
    SEQ_SUFFIX,
    TERMINAL_SUFFIX,
    events_key,
)
from app.protocol import ServerFrame

__all__ = ["EventPublisher", "FrameHeader", "JobFrames", "frame_body", "frame_header",
           "read_events"]

# One call publishes the frames of one or more jobs. ARGV: maxlen, ttl_s, the four parts of
# a job's key names (prefix, then the suffixes of its stream (= channel), seq counter,
# terminal flag and producers hash: app/keys.py), then per job one head
# `<job id>\t<producer ('' = none)>\t<index of its first frame>\t<number of frames>` and
# its frames. (Few arguments per frame: the client packs every argument in Python.) A frame
# is its JSON without `seq`, starting with `{"type":"T",`; the script puts `"seq":N,` first,
# so every published frame starts with the same header and the relay reads seq and type
# without parsing JSON. Returns, per frame, the seq it got, or 0 when it was not published
# (a producer's frame already published, or any frame after the terminal one).
_PUBLISH_LUA = """
local terminal = {session_end = true, error = true, cancelled = true}
local prefix = ARGV[3]
local out = {}
local a = 8
while ARGV[a] do
  local id, producer, index, count = string.match(ARGV[a], '^([^\t]+)\t([^\t]*)\t(%d+)\t(%d+)$')
  index, count = tonumber(index), tonumber(count)
  local stream, seqk = prefix .. id .. ARGV[4], prefix .. id .. ARGV[5]
  local term, prod = prefix .. id .. ARGV[6], prefix .. id .. ARGV[7]
  a = a + 1
  local last = -1
  if producer ~= '' then last = tonumber(redis.call('HGET', prod, producer) or '-1') end
  local ended = redis.call('EXISTS', term) == 1
  local published = last
  for f = 0, count - 1 do
    local body = ARGV[a + f]
    if ended or index + f <= last then
      table.insert(out, 0)
    else
      local seq = redis.call('INCR', seqk)
      local frame = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
      redis.call('XADD', stream, 'MAXLEN', '~', ARGV[1], seq .. '-0', 'frame', frame)
      redis.call('PUBLISH', stream, frame)
      published = index + f
      table.insert(out, seq)
      if terminal[string.match(body, '^{"type":"([%w_]+)"')] then
        ended = true
        redis.call('SET', term, seq)
        redis.call('EXPIRE', stream, ARGV[2])
        redis.call('EXPIRE', seqk, ARGV[2])
        redis.call('EXPIRE', term, ARGV[2])
      end
    end
  end
  a = a + count
  if producer ~= '' and published > last then
    redis.call('HSET', prod, producer, published)
    redis.call('EXPIRE', prod, ARGV[2])
  end
end
return out
"""
_KEY_PARTS = (JOB_PREFIX, EVENTS_SUFFIX, SEQ_SUFFIX, TERMINAL_SUFFIX, PRODUCERS_SUFFIX)
_HEADER = re.compile(rb'\{"seq":(\d+),"type":"(\w+)","job_id":(?:"[^"]*"|null),"ts":"([^"]+)"')


def frame_body(frame: ServerFrame) -> bytes:
    """The frame as JSON without `seq` (the publisher assigns it); `type`, `job_id` and
    `ts` come first, in that order (the header the relay reads)."""
    data = frame.model_dump(mode="json", exclude={"seq"})
    head = {"type": data.pop("type"), "job_id": data.pop("job_id"), "ts": data.pop("ts")}
    return orjson.dumps(head | data)


_MAX_JOBS = 200  # jobs per coalesced publish call


@dataclass(frozen=True, slots=True)
class JobFrames:
    """A job's frames for one publish. With `producer`, frame i is that producer's frame
    `first_index + i`, and one already published is skipped: sending again is harmless."""

    job_id: str
    frames: Sequence[ServerFrame]
    producer: str = ""
    first_index: int = 0

    def argv(self) -> list[Any]:
        """Its part of the script's ARGV: the head, then the frames."""
        head = f"{self.job_id}\t{self.producer}\t{self.first_index}\t{len(self.frames)}"
        return [head, *map(frame_body, self.frames)]


# A coalesced publish waiting for its call: its part, and where its seqs go.
_Request = tuple[JobFrames, "asyncio.Future[list[int]]"]


class EventPublisher:
    """Publishes jobs' frames: seq assigned atomically, stream + channel in one step.

    With `coalesce`, the publishes that many turns make in the same moment share one call
    of the script; each still gets its own result, in order."""

    def __init__(self, redis: Redis, *, maxlen: int, ttl_s: int, coalesce: bool = False) -> None:
        self._redis = redis
        self._maxlen = maxlen
        self._ttl_s = ttl_s
        self._sha = hashlib.sha1(_PUBLISH_LUA.encode()).hexdigest()
        self._coalesce = coalesce
        self._waiting: list[_Request] = []
        self._flusher: asyncio.Task[None] | None = None

    async def publish(
        self, job_id: str, frames: Sequence[ServerFrame], *, producer: str = "",
        first_index: int = 0,
    ) -> list[int]:
        """Publish one job's frames in order (see JobFrames); the seq given to each (0: not
        published)."""
        if not frames:
            return []
        part = JobFrames(job_id, frames, producer=producer, first_index=first_index)
        if not self._coalesce:
            return (await self.publish_many([part]))[0]
        done: asyncio.Future[list[int]] = asyncio.get_running_loop().create_future()
        self._waiting.append((part, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await done

    async def publish_many(self, parts: Sequence[JobFrames]) -> list[list[int]]:
        """Publish several jobs' frames in one call of the script; the seqs of each part."""
        argv = [self._maxlen, self._ttl_s, *_KEY_PARTS, *(a for p in parts for a in p.argv())]
        try:
            seqs = await self._redis.execute_command(  # type: ignore[no-untyped-call]
                "EVALSHA", self._sha, 0, *argv)
        except NoScriptError:  # a restarted Redis has forgotten the script
            seqs = await self._redis.execute_command(  # type: ignore[no-untyped-call]
                "EVAL", _PUBLISH_LUA, 0, *argv)
        out, at = [], 0
        for part in parts:
            out.append([int(s) for s in seqs[at:at + len(part.frames)]])
            at += len(part.frames)
        return out

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # the other turns of this loop iteration join the batch
        while self._waiting:
            batch, self._waiting = self._waiting[:_MAX_JOBS], self._waiting[_MAX_JOBS:]
            try:
                results = await self.publish_many([part for part, _done in batch])
            except Exception as exc:
                for _part, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_part, done), seqs in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(seqs)


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
