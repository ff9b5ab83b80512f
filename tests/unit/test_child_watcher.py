"""The pidfd child watcher: exit codes of real child processes, on any thread's loop, with
no thread started per child."""

from __future__ import annotations

import asyncio
import threading

from workers.executor._children import watch_children_by_pidfd


async def _exit_codes(n: int) -> list[int]:
    procs = [await asyncio.create_subprocess_exec("sh", "-c", f"exit {i % 4}")
             for i in range(n)]
    return [await proc.wait() for proc in procs]


async def test_children_end_with_their_codes_and_no_thread_each() -> None:
    watch_children_by_pidfd()
    threads_before = threading.active_count()
    running = [await asyncio.create_subprocess_exec("sleep", "30") for _ in range(10)]
    assert threading.active_count() == threads_before  # 3.11's own way: one thread each
    for proc in running:
        proc.kill()
    assert [await proc.wait() for proc in running] == [-9] * 10
    assert await _exit_codes(40) == [i % 4 for i in range(40)]


def test_a_loop_on_another_thread_gets_its_own_children() -> None:
    watch_children_by_pidfd()
    codes: list[int] = []
    other = threading.Thread(target=lambda: codes.extend(asyncio.run(_exit_codes(8))))
    other.start()
    other.join(timeout=30)
    assert codes == [i % 4 for i in range(8)]
