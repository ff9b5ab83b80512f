"""redis-py must let a cancelled task stop: the worker and the relay cancel tasks that may be
in the middle of a Redis command (redis-py 8.x swallows that cancellation: the task runs on,
a turn never ends and a socket handler never returns; pyproject pins redis<8)."""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis


async def test_a_task_cancelled_during_a_command_stops(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    still_running = 0
    try:
        for attempt in range(100):
            stop = asyncio.Event()

            async def commands(stop: asyncio.Event = stop) -> None:
                while not stop.is_set():
                    await redis.eval("return redis.call('PING')", 0)

            task = asyncio.create_task(commands())
            await asyncio.sleep(0.0003 * (attempt % 7))
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=1.0)
            if not done:
                still_running += 1
                stop.set()
                await asyncio.wait({task}, timeout=2.0)
    finally:
        await redis.aclose()
    assert still_running == 0, f"{still_running} of 100 cancelled tasks kept running"
