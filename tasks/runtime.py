"""What a worker process holds for its whole life (DESIGN §11): one event loop, on its own
thread, and on it one Mongo client (Beanie), one Redis client, the event publisher, the
executor, the task sender and the outbox. Every running turn is a coroutine on that loop
(each Celery pool thread hands its turn over and waits); the housekeeping runs there too.

A warm shutdown (SIGTERM) stops new turns at once and gives running ones
`worker_shutdown_grace_s` to finish before they are stopped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from redis.asyncio import Redis

from app.credentials import CredentialCipher, credential_cipher
from app.db import init_db, open_redis
from app.events import EventPublisher
from app.guardrail import Guardrail
from app.keys import cancel_key
from app.retry import is_transient, retrying
from app.services.outbox import Outbox
from app.services.turn_lifecycle import TurnDeps
from app.settings import Settings
from app.taskqueue import CelerySender
from tasks.frame_pump import FramePump
from workers.executor import Executor, create_executor

if TYPE_CHECKING:
    from celery import Celery

__all__ = ["CancelWatch", "Clients", "StartGate", "WorkerRuntime"]

T = TypeVar("T")

log = logging.getLogger("wx.worker")


@dataclass
class Clients:
    """The clients of one worker process, all bound to its loop."""

    settings: Settings
    mongo: Any
    redis: Redis
    executor: Executor
    guardrail: Guardrail
    deps: TurnDeps
    worker_name: str
    cancels: CancelWatch
    cipher: CredentialCipher  # decrypts a tenant's own Claude credential for its turns
    frames: FramePump  # the running turns' frames to Redis
    starts: StartGate  # the turns starting at once


@dataclass(eq=False)
class CancelWatch:
    """The cancel flags of every turn running in this process, read with one Redis round
    trip per poll (not one per turn)."""

    redis: Redis
    interval_s: float
    running: set[str] = field(default_factory=set)
    cancelled: set[str] = field(default_factory=set)

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            ids = sorted(self.running)
            if not ids:
                continue
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for job_id in ids:
                        pipe.exists(cancel_key(job_id))
                    flags = await pipe.execute()
            except Exception as exc:  # Redis away: the flags are read again next poll
                if not is_transient(exc):
                    log.exception("cancel poll failed")
                continue
            self.cancelled |= {job_id for job_id, flag in zip(ids, flags, strict=True) if flag}

    def forget(self, job_id: str) -> None:
        self.running.discard(job_id)
        self.cancelled.discard(job_id)


class StartGate:
    """At most `limit` turns of this process starting at once, the others in arrival order:
    a burst's first turns start (and stream) while the rest wait, instead of every turn
    sharing the loop, MongoDB and the CPU with all the others and all starting late."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit)

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[Callable[[], None]]:
        """Hold a slot; the callable it yields gives it back early (once claude runs)."""
        await self._slots.acquire()
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                self._slots.release()

        try:
            yield give_back
        finally:
            give_back()


class WorkerRuntime:
    """The loop thread and the clients on it; `run(coro)` runs a coroutine there."""

    def __init__(self, settings: Settings, celery: Celery) -> None:
        self.settings = settings
        self.celery = celery
        self.loop = asyncio.new_event_loop()
        self.worker_name = f"{settings.worker_host}:{os.getpid()}"
        self.shutdown_deadline: float | None = None  # monotonic; set by a warm shutdown
        self._clients: Clients | None = None
        self._ready = threading.Event()
        self._background: list[asyncio.Task[None]] = []
        self._thread = threading.Thread(target=self._serve, name="wx-loop", daemon=True)

    @property
    def clients(self) -> Clients:
        assert self._clients is not None, "the worker runtime is not open"
        return self._clients

    def start(self) -> None:
        """Start the loop thread and open the clients (waits for MongoDB if it is away)."""
        self._thread.start()
        self.run(self._open())
        self._ready.set()

    def start_background(self, *coroutines: Coroutine[Any, Any, None]) -> None:
        """Run housekeeping coroutines on the loop until `stop()`."""
        async def spawn() -> None:
            self._background += [asyncio.create_task(c) for c in coroutines]

        self.run(spawn())

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run `coro` on the loop and wait for its result (from any other thread)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def begin_shutdown(self) -> None:
        """A warm shutdown started: running turns get the grace period."""
        self.shutdown_deadline = time.monotonic() + self.settings.worker_shutdown_grace_s
        log.warning("warm shutdown: running turns have %ss to finish",
                    self.settings.worker_shutdown_grace_s)

    def stop(self) -> None:
        """Cancel the housekeeping, close the clients and end the loop thread."""
        if self._thread.is_alive():
            try:
                self.run(self._close())
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(timeout=10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    async def _open(self) -> None:
        settings = self.settings
        # Without MongoDB there is nothing to run: wait for it rather than die.
        mongo = await retrying(float("inf"), lambda: init_db(settings))
        redis = open_redis(settings)
        cancels = CancelWatch(redis, settings.cancel_poll_interval_s)
        publisher = EventPublisher(redis, maxlen=settings.stream_maxlen,
                                   ttl_s=settings.stream_ttl_s, coalesce=True)
        deps = TurnDeps(settings=settings, redis=redis, sender=CelerySender(self.celery),
                        publisher=publisher, outbox=Outbox(settings.data_dir / "outbox"))
        self._clients = Clients(
            settings=settings, mongo=mongo, redis=redis, executor=create_executor(settings),
            guardrail=Guardrail(settings), deps=deps, worker_name=self.worker_name,
            cancels=cancels, cipher=credential_cipher(settings), frames=FramePump(publisher),
            starts=StartGate(settings.worker_start_concurrency),
        )
        self._background.append(asyncio.create_task(cancels.watch()))

    async def _close(self) -> None:
        for task in self._background:
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        if self._clients is not None:
            await self._clients.frames.close()
            await self._clients.executor.close()
            await self._clients.redis.aclose()
            await self._clients.mongo.close()

