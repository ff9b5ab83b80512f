"""A worker's durable record of turn endings not yet fully written (DESIGN §11).

Before a turn's end touches MongoDB or Redis, the ending is written to
`<data_dir>/outbox/<job_id>.json`; the entry goes once every step is done. It survives the
worker process (not a power loss of the host: it is not fsync'ed). If MongoDB or
Redis stays away longer than the outage window, or the worker dies, the entry stays, and a
flusher (in any worker process of the host, also after a restart) finishes it. An entry is
held with an exclusive `flock` while a process works on it, so two processes never apply
the same ending at once."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from pydantic import BaseModel

__all__ = ["Outbox", "OutboxEntry"]

log = logging.getLogger("wx.outbox")


class OutboxEntry:
    """One held entry: its record, which `save()` rewrites, and its lock."""

    def __init__(self, path: Path, lock: IO[bytes], record: BaseModel) -> None:
        self.path = path
        self.record = record
        self._lock = lock

    def save(self) -> None:
        """Write the record again (after a step whose outcome a replay must know)."""
        _write_atomically(self.path, self.record.model_dump_json().encode())

    def done(self) -> None:
        """Every step is done: remove the entry and release it."""
        self.path.unlink(missing_ok=True)
        self.path.with_suffix(".lock").unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        """Keep the entry for a later flush, and let other processes take it."""
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()


class Outbox:
    """A folder of pending turn endings: `<key>.json` (replaced atomically on each write)
    and `<key>.lock` (the file the holder keeps flock'ed)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)

    def put(self, key: str, record: BaseModel) -> OutboxEntry | None:
        """Write the record for `key` and hold it; None if another holder has that key."""
        path = self.folder / f"{key}.json"
        lock = _lock(path)
        if lock is None:
            return None
        _write_atomically(path, record.model_dump_json().encode())
        return OutboxEntry(path, lock, record)

    def pending(self, model: type[BaseModel]) -> Iterator[OutboxEntry]:
        """Entries no process holds, each held while the caller works on it."""
        for path in sorted(self.folder.glob("*.json")):
            entry = self._take(path, model)
            if entry is not None:
                yield entry

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*.json"))

    def _take(self, path: Path, model: type[BaseModel]) -> OutboxEntry | None:
        lock = _lock(path)
        if lock is None:
            return None
        try:
            record = model.model_validate_json(path.read_bytes())
        except FileNotFoundError:  # finished while we waited for its lock
            _unlock(lock)
            return None
        except (OSError, ValueError) as exc:
            log.error("outbox entry %s is unreadable (%s): moved aside", path.name, exc)
            with contextlib.suppress(OSError):
                path.rename(path.with_suffix(".bad"))
            _unlock(lock)
            return None
        return OutboxEntry(path, lock, record)


def _lock(path: Path) -> IO[bytes] | None:
    handle = path.with_suffix(".lock").open("ab")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def _unlock(handle: IO[bytes]) -> None:
    with contextlib.suppress(OSError):
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def _write_atomically(path: Path, data: bytes) -> None:
    # No fsync: the outbox is for a worker that dies or a dependency that is away; the page
    # cache outlives the process (a host that loses power loses its running turns anyway),
    # and an fsync per turn would stall the event loop every turn shares.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
