"""Bridges between the event loop and blocking code (docker SDK calls, tarfile, files)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from concurrent.futures import Executor as ThreadPool
from typing import Any

__all__ = ["blocking_iter", "iterate_blocking"]


async def iterate_blocking(
    pool: ThreadPool | None, chunks: Iterator[bytes]
) -> AsyncIterator[bytes]:
    """A blocking iterator pulled on `pool`, one chunk per hop (so it is never ahead of
    its consumer); closed, on the pool, when the consumer stops early."""
    loop = asyncio.get_running_loop()
    done = object()
    try:
        while (chunk := await loop.run_in_executor(pool, next, chunks, done)) is not done:
            yield chunk  # type: ignore[misc]
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            await loop.run_in_executor(pool, close)


def blocking_iter(loop: asyncio.AbstractEventLoop, chunks: AsyncIterable[bytes]) -> Iterator[bytes]:
    """An async iterable read from a worker thread: each chunk is fetched on `loop`."""
    iterator = aiter(chunks)

    async def pull() -> Any:
        try:
            return await anext(iterator)
        except StopAsyncIteration:
            return None

    while (chunk := asyncio.run_coroutine_threadsafe(pull(), loop).result()) is not None:
        yield chunk
