"""The frames of every turn running in this worker process, on their way to Redis.

One pump per process sends, in one call of the publish script, what all its turns have
produced since its last call; each turn's frames keep their order. A frame never waits for
company: at a few turns a call carries a frame, as soon as it is produced; at a hundred, a
call carries what arrived during the one before (one call per frame, each with its own
task and future, spent most of the worker's CPU at K = 100). Frames are numbered per turn
(the publisher's producer index), so a round sent again after a lost reply, or a turn's
ending sending what the pump had in flight, never publishes a frame twice."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from app.events import EventPublisher, JobFrames
from app.protocol import ServerFrame
from app.retry import is_transient

__all__ = ["FrameFeed", "FramePump"]

log = logging.getLogger("wx.worker.frames")

_MAX_BATCH = 256  # frames of one turn per round
_MAX_FEEDS = 200  # turns per round (the others go first next round)
_MAX_PENDING = 20_000  # frames waiting for Redis before a turn's reader waits too
_CLOSE_WAIT_S = 10.0
_BACKOFF_S = (0.1, 2.0)


class FrameFeed:
    """One turn's frames, in order; `next_index` is the producer index of `pending[0]`."""

    def __init__(self, pump: FramePump, job_id: str, *, producer: str) -> None:
        self._pump = pump
        self.job_id = job_id
        self.producer = producer
        self.pending: list[ServerFrame] = []
        self.next_index = 0
        self.in_flight = False
        self.closing = False
        self.moved = asyncio.Event()  # a round that carried this feed's frames ended

    async def put(self, frames: Sequence[ServerFrame]) -> None:
        """Queue frames; waits only while _MAX_PENDING frames are waiting for Redis."""
        self.pending += frames
        self._pump.wake(self)
        while len(self.pending) > _MAX_PENDING and not self.closing:
            self.moved.clear()
            await self.moved.wait()

    async def close(self) -> list[ServerFrame]:
        """Stop sending once the round in flight has ended (or after _CLOSE_WAIT_S); the
        frames not confirmed, which the turn's ending sends."""
        self.closing = True
        if self.in_flight:
            self.moved.clear()
            # a call that does not return: its frames go again with the ending (numbered)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.moved.wait(), _CLOSE_WAIT_S)
        self._pump.detach(self)
        return list(self.pending)

    def confirmed(self, count: int) -> None:
        del self.pending[:count]
        self.next_index += count


class FramePump:
    """Sends the frames of every open feed (see the module docstring)."""

    def __init__(self, publisher: EventPublisher) -> None:
        self._publisher = publisher
        self._feeds: dict[FrameFeed, None] = {}  # waiting to be sent, oldest first
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def feed(self, job_id: str, *, producer: str) -> FrameFeed:
        return FrameFeed(self, job_id, producer=producer)

    def wake(self, feed: FrameFeed) -> None:
        self._feeds.setdefault(feed)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="frame-pump")

    def detach(self, feed: FrameFeed) -> None:
        self._feeds.pop(feed, None)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        failures = 0
        while True:
            await self._wake.wait()
            await asyncio.sleep(0)  # the readers woken with this one add their frames first
            self._wake.clear()
            try:
                await self._round()
            except Exception as exc:  # Redis away: the same frames go again after a while
                failures += 1
                if failures == 1 or not is_transient(exc):
                    log.warning("publishing frames failed (%s); retrying", exc)
                await asyncio.sleep(min(_BACKOFF_S[0] * 2 ** failures, _BACKOFF_S[1]))
                self._wake.set()
                continue
            failures = 0

    async def _round(self) -> None:
        """One call with the waiting frames of up to _MAX_FEEDS turns."""
        taken = list(self._feeds)[:_MAX_FEEDS]
        for feed in taken:  # a closing or emptied feed is simply dropped: put() adds it again
            del self._feeds[feed]
        feeds = [f for f in taken if f.pending and not f.closing]
        for feed in feeds:
            feed.in_flight = True
        counts = [min(len(f.pending), _MAX_BATCH) for f in feeds]
        parts = [JobFrames(f.job_id, f.pending[:n], producer=f.producer, first_index=f.next_index)
                 for f, n in zip(feeds, counts, strict=True)]
        try:
            if parts:
                await self._publisher.publish_many(parts)
        except BaseException:
            for feed in feeds:
                self._ended_round(feed, 0)
            raise
        for feed, count in zip(feeds, counts, strict=True):
            self._ended_round(feed, count)

    def _ended_round(self, feed: FrameFeed, confirmed: int) -> None:
        feed.confirmed(confirmed)
        feed.in_flight = False
        feed.moved.set()
        if feed.pending and not feed.closing:
            self._feeds.setdefault(feed)
            self._wake.set()
