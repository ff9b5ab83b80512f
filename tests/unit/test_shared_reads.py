"""app/services/shared_reads.py: callers of one key while its read is in flight share it."""

from __future__ import annotations

import asyncio

import pytest

from app.services.shared_reads import SharedReads


class Reader:
    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()

    async def __call__(self) -> int:
        self.calls += 1
        number = self.calls
        await self.release.wait()
        return number


async def test_callers_in_flight_share_one_read_and_the_next_reads_again() -> None:
    reads: SharedReads[int] = SharedReads()
    reader = Reader()
    waiting = [asyncio.create_task(reads.read("t1", reader)) for _ in range(10)]
    other = asyncio.create_task(reads.read("t2", reader))
    await asyncio.sleep(0.01)
    assert reader.calls == 2  # one read of t1, one of t2
    reader.release.set()
    assert await asyncio.gather(*waiting) == [1] * 10
    assert await other == 2
    assert await reads.read("t1", reader) == 3  # nothing kept once it returned


async def test_a_cancelled_caller_leaves_the_read_to_the_others() -> None:
    reads: SharedReads[int] = SharedReads()
    reader = Reader()
    first = asyncio.create_task(reads.read("t", reader))
    second = asyncio.create_task(reads.read("t", reader))
    await asyncio.sleep(0)
    first.cancel()
    reader.release.set()
    assert await second == 1
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failed_read_fails_every_caller_and_is_not_kept() -> None:
    reads: SharedReads[int] = SharedReads()

    async def broken() -> int:
        await asyncio.sleep(0)
        raise ConnectionError("mongo away")

    results = await asyncio.gather(*(reads.read("t", broken) for _ in range(3)),
                                   return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    reader = Reader()
    reader.release.set()
    assert await reads.read("t", reader) == 1
