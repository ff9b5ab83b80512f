"""Reads that many turns make at the same moment (a tenant's credential as its turns start,
its webhooks as they end): callers of one key while its read is in flight share that read,
so a hundred turns of a tenant cost MongoDB one query, not a hundred. Nothing is kept once
the read returns: a caller never gets an answer older than a read it overlapped."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["SharedReads"]

V = TypeVar("V")


class SharedReads(Generic[V]):
    """One read in flight per key (and per event loop)."""

    def __init__(self) -> None:
        self._in_flight: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Hashable, asyncio.Future[Any]]
        ] = weakref.WeakKeyDictionary()

    async def read(self, key: Hashable, read: Callable[[], Awaitable[V]]) -> V:
        loop = asyncio.get_running_loop()
        in_flight = self._in_flight.setdefault(loop, {})
        shared = in_flight.get(key)
        if shared is None:
            shared = in_flight[key] = asyncio.ensure_future(read())
            shared.add_done_callback(lambda _: in_flight.pop(key, None))
        # one caller cancelled does not cancel the others' read
        result: V = await asyncio.shield(shared)
        return result
