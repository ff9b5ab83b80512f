"""How asyncio learns that a local child process ended.

Python 3.11 waits for each child on a thread of its own, started (and waited for) on the
event loop thread as the child is spawned: a hundred turns starting at once spend a fifth
of the worker loop's time starting threads, which then compete for the GIL. Python 3.12
instead watches a pidfd of each child on the loop that spawned it; this is that watcher,
for 3.11."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

__all__ = ["watch_children_by_pidfd"]


class _PidfdWatcher(asyncio.AbstractChildWatcher):
    """A pidfd per child, read by the running loop that spawned it (any thread's loop)."""

    def add_child_handler(self, pid: int, callback: Any, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        pidfd = os.pidfd_open(pid)
        loop._add_reader(pidfd, self._reap, loop, pid, pidfd, callback, args)  # type: ignore[attr-defined]

    @staticmethod
    def _reap(loop: asyncio.AbstractEventLoop, pid: int, pidfd: int, callback: Any,
              args: tuple[Any, ...]) -> None:
        loop._remove_reader(pidfd)  # type: ignore[attr-defined]
        os.close(pidfd)
        try:
            _, status = os.waitpid(pid, 0)
            code = os.waitstatus_to_exitcode(status)
        except ChildProcessError:  # reaped by someone else: asyncio's own convention
            code = 255
        callback(pid, code, *args)

    def remove_child_handler(self, pid: int) -> bool:
        return True  # never called by the loop; the reader goes when the child ends

    def attach_loop(self, loop: asyncio.AbstractEventLoop | None) -> None:
        pass

    def is_active(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def __enter__(self) -> _PidfdWatcher:
        return self

    def __exit__(self, *_: object) -> None:
        pass


def watch_children_by_pidfd() -> None:
    """On Python 3.11 with pidfds (Linux 5.3+), watch child processes as 3.12 does."""
    if sys.version_info >= (3, 12) or isinstance(asyncio.get_child_watcher(), _PidfdWatcher):
        return
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):  # no pidfds here (old kernel, seccomp): keep threads
        return
    asyncio.set_child_watcher(_PidfdWatcher())
