"""The worker's start gate: at most N turns starting at once, the others in arrival order,
a slot given back early or when its holder fails."""

from __future__ import annotations

import asyncio

import pytest

from tasks.runtime import StartGate


async def test_at_most_the_limit_start_at_once_in_arrival_order() -> None:
    gate = StartGate(2)
    starting: set[int] = set()
    most = 0
    order: list[int] = []

    async def turn(n: int) -> None:
        nonlocal most
        async with gate.slot() as started:
            order.append(n)
            starting.add(n)
            most = max(most, len(starting))
            await asyncio.sleep(0.01)
            starting.discard(n)
            started()  # claude runs: the next turn may start while this one streams
            await asyncio.sleep(0.05)

    await asyncio.gather(*(turn(n) for n in range(10)))
    assert most == 2
    assert order == list(range(10))


async def test_a_slot_comes_back_when_its_holder_fails_or_gives_it_twice() -> None:
    gate = StartGate(1)
    with pytest.raises(RuntimeError):
        async with gate.slot() as started:
            started()
            started()  # once is enough: a second call gives nothing more back
            raise RuntimeError("claim failed")
    async with gate.slot():
        others = asyncio.create_task(_enter(gate))
        await asyncio.sleep(0.01)
        assert not others.done(), "a second slot was given back"
    await asyncio.wait_for(others, 1)


async def _enter(gate: StartGate) -> None:
    async with gate.slot():
        pass
