"""Riding out a short Redis or MongoDB outage (DESIGN §11): which errors are worth retrying,
and one backoff policy bounded by the configured outage window."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from pymongo.errors import ConnectionFailure, WaitQueueTimeoutError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

__all__ = ["is_transient", "retrying"]

T = TypeVar("T")

log = logging.getLogger("wx.retry")

# Redis restarting (refused, reset, LOADING its append-only file) and MongoDB unreachable
# (server selection, network errors, a primary stepping down) are worth waiting out.
_TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionFailure, WaitQueueTimeoutError,
              ConnectionRefusedError, ConnectionResetError)


def is_transient(exc: BaseException) -> bool:
    """True for an error that a dependency coming back would cure."""
    return isinstance(exc, _TRANSIENT)


class _GiveUp(stop_base):
    """Stop retrying when a condition holds (e.g. the caller is closing)."""

    def __init__(self, condition: Callable[[], bool]) -> None:
        self._condition = condition

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._condition()


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    if state.attempt_number in (1, 10) or state.attempt_number % 50 == 0:
        log.warning("%s unavailable (attempt %d): %s; retrying",
                    getattr(state.fn, "__qualname__", "dependency"), state.attempt_number, exc)


async def retrying(window_s: float, operation: Callable[[], Awaitable[T]], *,
                   give_up: Callable[[], bool] | None = None) -> T:
    """`operation()`, retried with backoff (0.1 s up to 2 s) on transient errors for at most
    `window_s` seconds (or until `give_up()` says so); then the last error is raised."""
    try:
        return await operation()  # the common case, without the retry machinery's cost
    except Exception as exc:
        if not is_transient(exc):
            raise
        log.warning("dependency unavailable: %s; retrying", exc)
    stop: stop_base = stop_after_delay(window_s)
    if give_up is not None:
        stop = stop | _GiveUp(give_up)
    retry = AsyncRetrying(
        retry=retry_if_exception(is_transient),
        wait=wait_exponential_jitter(initial=0.1, max=2.0, jitter=0.2),
        stop=stop,
        before_sleep=_log_retry,
        reraise=True,
    )
    async for attempt in retry:
        with attempt:
            return await operation()
    raise AssertionError("unreachable: tenacity reraises the last error")
