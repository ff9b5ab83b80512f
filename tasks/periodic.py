"""A daemon thread of a worker's main process that runs a step periodically until
stopped (the reaper, the host heartbeat)."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

log = logging.getLogger("wx.worker")


class PeriodicThread(ABC):
    """Calls `tick()` every `interval_s` until `stop()`; `setup()` and `teardown()` run on
    the thread around the ticks. A failing tick is logged; the next runs on schedule."""

    def __init__(self, name: str, interval_s: float, *, tick_first: bool) -> None:
        self._interval_s = interval_s
        self._tick_first = tick_first
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    @abstractmethod
    def setup(self) -> None:
        """Create what the ticks use (event loop, clients) on this thread."""

    @abstractmethod
    def tick(self) -> None:
        """One periodic step."""

    @abstractmethod
    def teardown(self) -> None:
        """Release what `setup()` created."""

    def _main(self) -> None:
        self.setup()
        try:
            if not self._tick_first and self._stop.wait(self._interval_s):
                return
            while True:
                try:
                    self.tick()
                except Exception:
                    log.exception("%s: periodic step failed", self._thread.name)
                if self._stop.wait(self._interval_s):
                    return
        finally:
            self.teardown()
