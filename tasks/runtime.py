"""What a worker child holds for its whole life: one event loop, and on it one Mongo
client (Beanie), one Redis client, the event publisher and the executor — all created
after the fork (`worker_process_init`), never inherited from the parent."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from redis.asyncio import Redis

from app.db import init_db
from app.events import EventPublisher
from app.guardrail import Guardrail
from app.settings import Settings, get_settings

if TYPE_CHECKING:
    from celery import Celery

    from workers.executor.base import Executor

__all__ = ["Runtime", "build_runtime", "close_runtime", "get_runtime", "reset_runtime"]


@dataclass
class Runtime:
    """A process's clients, all bound to `loop`."""

    settings: Settings
    loop: asyncio.AbstractEventLoop
    mongo: Any
    redis: Redis
    publisher: EventPublisher
    executor: Executor
    guardrail: Guardrail
    celery: Celery
    worker_name: str
    # job ids whose Celery soft time limit fired (the running turn polls this set)
    soft_timed_out: set[str] = field(default_factory=set)


_RUNTIME: Runtime | None = None


def build_runtime(settings: Settings, celery: Celery) -> Runtime:
    """A fresh loop (made current) with every client created on it."""
    from workers.executor import create_executor

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    async def _init() -> Runtime:
        redis = Redis.from_url(settings.redis_url)
        return Runtime(
            settings=settings,
            loop=loop,
            mongo=await init_db(settings),
            redis=redis,
            publisher=EventPublisher(redis, maxlen=settings.stream_maxlen,
                                     ttl_s=settings.stream_ttl_s),
            executor=create_executor(settings),
            guardrail=Guardrail(settings),
            celery=celery,
            worker_name=f"{settings.worker_host}:{os.getpid()}",
        )

    return loop.run_until_complete(_init())


def get_runtime(celery: Celery) -> Runtime:
    """This process's runtime, built on first use (the solo pool never forks)."""
    global _RUNTIME
    if _RUNTIME is None or _RUNTIME.worker_name.rsplit(":", 1)[1] != str(os.getpid()):
        _RUNTIME = build_runtime(get_settings(), celery)
    return _RUNTIME


def reset_runtime(celery: Celery) -> Runtime:
    """After a fork: forget the parent's clients (never close them here) and build anew."""
    global _RUNTIME
    _RUNTIME = None
    return get_runtime(celery)


def close_runtime() -> None:
    """Release this process's clients (worker child shutdown)."""
    global _RUNTIME
    rt, _RUNTIME = _RUNTIME, None
    if rt is None:
        return

    async def _close() -> None:
        await rt.executor.close()
        await rt.redis.aclose()
        await rt.mongo.close()

    try:
        rt.loop.run_until_complete(_close())
    finally:
        rt.loop.close()
