"""Relay of job frames from Redis to local sockets (DESIGN §7).

One pub/sub connection per process, subscribed per job channel on demand and fanned
out to bounded per-socket queues. A follower first subscribes, then reads the job's
stream (replay), then follows the live channel, dropping seq <= last delivered: no
gap, no duplicate. When its queue overflows, or the listener had to be rebuilt, the
follower re-reads the stream from its last seq. broadcaster (pinned) offers neither
subscribe confirmation nor bounded queues, so redis-py's PubSub is used directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from app.events import frame_header, read_events
from app.keys import RELAY_ALIVE, events_key
from app.protocol import is_terminal

__all__ = ["Relay"]

log = logging.getLogger(__name__)

_RESYNC = b""  # queue sentinel: re-read the stream


@dataclass(eq=False)
class _Follower:
    queue: asyncio.Queue[bytes]
    resync: bool = False
    overflows: int = 0


@dataclass(eq=False)
class _Channel:
    followers: set[_Follower] = field(default_factory=set)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class Relay:
    """Fans Redis pub/sub job channels out to local followers."""

    def __init__(
        self,
        redis: Redis,
        *,
        queue_size: int = 2000,
        heartbeat_s: float = 2.0,
        idle_reread_s: float = 5.0,
    ) -> None:
        self._redis = redis
        self._queue_size = queue_size
        self._heartbeat_s = heartbeat_s
        self._idle_reread_s = idle_reread_s
        self._channels: dict[str, _Channel] = {}
        self._pubsub: PubSub | None = None
        self._listener: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._last_seen = time.monotonic()
        self._lock = asyncio.Lock()
        self.rebuilds = 0
        self.overflows = 0

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Open the pub/sub connection and start the listener and its watchdog."""
        await self._build()
        self._watchdog = asyncio.create_task(self._watch(), name="relay-watchdog")

    async def close(self) -> None:
        """Stop the watchdog and the listener, close the connection."""
        for task in (self._watchdog, self._listener):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    @property
    def open_followers(self) -> int:
        return sum(len(c.followers) for c in self._channels.values())

    async def _build(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(RELAY_ALIVE, *self._channels)
        for channel in self._channels.values():
            channel.ready.clear()
        self._pubsub = pubsub
        self._last_seen = time.monotonic()
        self._listener = asyncio.create_task(self._listen(pubsub), name="relay-listener")

    async def _rebuild(self) -> None:
        """Replace a dead or stuck listener; every follower re-reads its stream."""
        self.rebuilds += 1
        log.warning("relay listener rebuilt", extra={"rebuilds": self.rebuilds})
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._build()
        for channel in self._channels.values():
            for follower in channel.followers:
                _signal_resync(follower)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._heartbeat_s)
            try:
                await self._redis.publish(RELAY_ALIVE, b"1")
                dead = self._listener is None or self._listener.done()
                stale = time.monotonic() - self._last_seen > 3 * self._heartbeat_s
                if dead or stale:
                    async with self._lock:
                        await self._rebuild()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("relay watchdog could not reach Redis")

    async def _listen(self, pubsub: PubSub) -> None:
        async for message in pubsub.listen():
            self._last_seen = time.monotonic()
            name = message["channel"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            channel = self._channels.get(name)
            if channel is None:
                continue
            if message["type"] == "subscribe":
                channel.ready.set()
            elif message["type"] == "message":
                for follower in channel.followers:
                    _offer(follower, message["data"])

    # ------------------------------------------------------------ following

    async def _join(self, job_id: str, follower: _Follower) -> None:
        key = events_key(job_id)
        async with self._lock:
            channel = self._channels.get(key)
            if channel is None:
                channel = self._channels[key] = _Channel()
                assert self._pubsub is not None
                await self._pubsub.subscribe(key)
            channel.followers.add(follower)
        # The server must have the subscription before the stream is read.
        await asyncio.wait_for(channel.ready.wait(), timeout=10)

    async def _leave(self, job_id: str, follower: _Follower) -> None:
        key = events_key(job_id)
        async with self._lock:
            channel = self._channels.get(key)
            if channel is None:
                return
            channel.followers.discard(follower)
            if not channel.followers:
                del self._channels[key]
                if self._pubsub is not None:
                    with contextlib.suppress(Exception):
                        await self._pubsub.unsubscribe(key)

    async def follow(self, job_id: str, *, after_seq: int = 0) -> AsyncIterator[bytes]:
        """Frames of `job_id` with seq > after_seq, in order, each once; ends after the
        terminal frame. Frames are the published JSON (bytes)."""
        follower = _Follower(queue=asyncio.Queue(maxsize=self._queue_size))
        last = after_seq
        from_stream = True
        try:
            await self._join(job_id, follower)
            pending = await read_events(self._redis, job_id, after_seq=last)
            while True:
                for raw in pending:
                    header = frame_header(raw)
                    seq = header.seq
                    if seq <= last:
                        continue
                    # A live frame past a gap: replay the gap from the stream first (a gap
                    # in the stream itself, trimmed by MAXLEN, cannot be filled: accept it).
                    if seq != last + 1 and not from_stream:
                        pending, from_stream = await self._reread(job_id, last), True
                        break
                    last = seq
                    yield raw
                    if is_terminal(header.type):
                        return
                else:
                    pending, from_stream = await self._next(job_id, follower, last)
        finally:
            self.overflows += follower.overflows
            await self._leave(job_id, follower)

    async def _reread(self, job_id: str, last: int) -> list[bytes]:
        return await read_events(self._redis, job_id, after_seq=last)

    async def _next(
        self, job_id: str, follower: _Follower, last: int
    ) -> tuple[list[bytes], bool]:
        """The next batch (and whether it came from the stream): live frames, or the
        stream again after an overflow, a listener rebuild, or a quiet spell."""
        if follower.resync:
            follower.resync = False
            _drain(follower.queue)
            return await self._reread(job_id, last), True
        try:
            raw = await asyncio.wait_for(follower.queue.get(), timeout=self._idle_reread_s)
        except TimeoutError:
            # Belt and braces: an idle follower re-reads the stream now and then.
            return await self._reread(job_id, last), True
        if raw == _RESYNC:
            return await self._next(job_id, follower, last)
        batch = [raw]
        while not follower.queue.empty():
            item = follower.queue.get_nowait()
            if item == _RESYNC:
                follower.resync = True
                break
            batch.append(item)
        return batch, False


def _offer(follower: _Follower, raw: bytes) -> None:
    if follower.resync:
        return
    try:
        follower.queue.put_nowait(raw)
    except asyncio.QueueFull:
        follower.resync = True  # the follower re-reads the stream once it catches up
        follower.overflows += 1


def _signal_resync(follower: _Follower) -> None:
    follower.resync = True
    with contextlib.suppress(asyncio.QueueFull):
        follower.queue.put_nowait(_RESYNC)


def _drain(queue: asyncio.Queue[bytes]) -> None:
    while not queue.empty():
        queue.get_nowait()
