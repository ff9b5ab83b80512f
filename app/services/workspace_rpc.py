"""Workspace requests between the API and the workers of a tenant's host, through Redis.

The API holds no Docker socket, so whatever touches a workspace (an upload, a listing, a
download, a diff, a revert) is served by a worker process of the host that holds the
tenant's container. The API pushes a request onto `wx:ws:requests:<host>`; a worker pops
it and answers on the request's own reply list, in order:

    A               accepted (the API starts sending an upload only then)
    K               keep-alive, while a long operation runs
    D<bytes>        a chunk of a streamed answer (a zip)
    R<json>         the result: the end
    E<json>         an error {code, message, details}: the end

An upload's bytes go the other way on the request's input list (`D<bytes>`, then `Z`).
Both sides wait for the other once a list holds `window` items (back-pressure: Redis holds
a few MB per request at most), and give up after `timeout_s` without progress."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import orjson
from pydantic import BaseModel, Field
from redis.asyncio import Redis

from app.errors import AppError, ErrorCode, RemoteError, Unavailable
from app.keys import (
    workspace_gone_key,
    workspace_input_key,
    workspace_reply_key,
    workspace_requests_key,
)
from app.retry import is_transient
from app.workspace import WorkspaceOp

__all__ = ["WorkspaceClient", "WorkspaceHandler", "WorkspaceRequest", "serve_workspace"]

log = logging.getLogger("wx.workspace")

_ACCEPTED, _KEEPALIVE, _DATA, _RESULT, _ERROR = b"A", b"K", b"D", b"R", b"E"
_END_OF_INPUT = b"Z"
_POLL_S = 0.01


class WorkspaceRequest(BaseModel):
    """One operation on one project's workspace (the API has checked the tenant owns it)."""

    id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    op: WorkspaceOp
    tenant_id: str
    project_id: str
    args: dict[str, Any] = Field(default_factory=dict)
    has_input: bool = False
    deadline: float = 0.0  # epoch seconds: past it, the API no longer waits for an answer


Answer = BaseModel | AsyncIterator[bytes]


class WorkspaceHandler(Protocol):
    """What the workers implement: serve one request (its upload's bytes in `upload`)."""

    async def handle(self, request: WorkspaceRequest,
                     upload: AsyncIterator[bytes] | None) -> Answer:
        """A result, or the chunks of a streamed answer; raises AppError to refuse."""


class _Channel:
    """One side's writes to a list the other side pops, with back-pressure."""

    def __init__(self, redis: Redis, key: str, gone_key: str, *, window: int,
                 timeout_s: float) -> None:
        self.redis, self.key, self.gone_key = redis, key, gone_key
        self.window, self.timeout_s = window, timeout_s

    async def send(self, message: bytes) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.rpush(self.key, message)
            pipe.expire(self.key, int(self.timeout_s * 4) + 10)
            length, _ = await pipe.execute()
        if int(length) > self.window:
            await self._drain()

    async def _drain(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        last = -1
        while (length := int(await self.redis.llen(self.key))) > self.window // 2:  # type: ignore[misc]
            if length != last:
                deadline, last = time.monotonic() + self.timeout_s, length
            if time.monotonic() > deadline or await self.redis.exists(self.gone_key):
                raise Unavailable("The other side of the workspace request stopped reading.")
            await asyncio.sleep(_POLL_S)


async def _pop(redis: Redis, key: str, timeout_s: float) -> bytes:
    item = await redis.blpop([key], timeout=max(1, int(timeout_s)))  # type: ignore[misc]
    if item is None:
        raise Unavailable("The workspace service of the tenant's worker host did not answer.")
    return bytes(item[1])


def _error(message: bytes) -> AppError:
    body = orjson.loads(message)
    return RemoteError(body.get("code", "internal"), body.get("message", ""),
                       **body.get("details", {}))


class WorkspaceClient:
    """The API's side: send a request to a host's workers and read the answer."""

    def __init__(self, redis: Redis, *, timeout_s: float, window: int = 16) -> None:
        self.redis = redis
        self.timeout_s = timeout_s
        self.window = window

    async def call(self, host: str, request: WorkspaceRequest,
                   upload: AsyncIterable[bytes] | None = None) -> dict[str, Any]:
        """Run the request to its result (sending `upload` once the worker has it)."""
        request = request.model_copy(update={"has_input": upload is not None})
        reply = workspace_reply_key(request.id)
        try:
            await self._submit(host, request)
            if upload is not None:
                try:
                    await self._send_upload(request, upload)
                except Unavailable:  # the worker stopped reading: its answer says why
                    message = await _pop(self.redis, reply, 1.0)
                    if message[:1] == _ERROR:
                        raise _error(message[1:]) from None
                    raise
            while True:
                message = await _pop(self.redis, reply, self.timeout_s)
                if message[:1] == _RESULT:
                    return dict(orjson.loads(message[1:]))
                if message[:1] == _ERROR:
                    raise _error(message[1:])
        finally:
            await self._forget(request)

    async def stream(self, host: str, request: WorkspaceRequest) -> AsyncIterator[bytes]:
        """The chunks of a streamed answer. Its first chunk (or its error) has arrived when
        this returns, so a refusal is raised before anything is streamed."""
        reply = workspace_reply_key(request.id)
        await self._submit(host, request)
        try:
            first = await self._next_chunk(reply)
        except BaseException:
            await self._forget(request)
            raise
        return self._rest(request, reply, first)

    async def _rest(self, request: WorkspaceRequest, reply: str,
                    first: bytes | None) -> AsyncIterator[bytes]:
        try:
            chunk = first
            while chunk is not None:
                yield chunk
                chunk = await self._next_chunk(reply)
        finally:
            await self._forget(request)

    async def _next_chunk(self, reply: str) -> bytes | None:
        while True:
            message = await _pop(self.redis, reply, self.timeout_s)
            match message[:1]:
                case b"D":
                    return message[1:]
                case b"R":
                    return None
                case b"E":
                    raise _error(message[1:])

    async def _submit(self, host: str, request: WorkspaceRequest) -> None:
        request = request.model_copy(update={"deadline": time.time() + self.timeout_s})
        reply = workspace_reply_key(request.id)
        await self.redis.rpush(workspace_requests_key(host),  # type: ignore[misc]
                               request.model_dump_json())
        if await _pop(self.redis, reply, self.timeout_s) != _ACCEPTED:
            raise AppError("The workspace service answered out of order.")

    async def _send_upload(self, request: WorkspaceRequest,
                           upload: AsyncIterable[bytes]) -> None:
        channel = _Channel(self.redis, workspace_input_key(request.id),
                           workspace_gone_key(request.id), window=self.window,
                           timeout_s=self.timeout_s)
        async for chunk in upload:
            await channel.send(_DATA + chunk)
        await channel.send(_END_OF_INPUT)

    async def _forget(self, request: WorkspaceRequest) -> None:
        with contextlib.suppress(Exception):
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.set(workspace_gone_key(request.id), b"1", ex=int(self.timeout_s * 4) + 10)
                pipe.delete(workspace_reply_key(request.id), workspace_input_key(request.id))
                await pipe.execute()


async def serve_workspace(redis: Redis, host: str, handler: WorkspaceHandler, *,
                          concurrency: int, timeout_s: float, window: int = 16) -> None:
    """The workers' side: serve the host's workspace requests, `concurrency` at a time,
    until cancelled."""
    slots = asyncio.Semaphore(concurrency)
    running: set[asyncio.Task[None]] = set()
    try:
        while True:
            await slots.acquire()
            try:
                item = await redis.blpop([workspace_requests_key(host)], timeout=1)  # type: ignore[misc]
            except Exception as exc:
                slots.release()
                if not is_transient(exc):
                    log.exception("workspace service: cannot read requests")
                await asyncio.sleep(1.0)
                continue
            if item is None:
                slots.release()
                continue
            task = asyncio.create_task(_serve_one(redis, item[1], handler, timeout_s, window))
            running.add(task)

            def finished(task: asyncio.Task[None]) -> None:
                running.discard(task)
                slots.release()

            task.add_done_callback(finished)
    finally:
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)


async def _serve_one(redis: Redis, raw: bytes, handler: WorkspaceHandler, timeout_s: float,
                     window: int) -> None:
    request = WorkspaceRequest.model_validate_json(raw)
    if request.deadline < time.time():
        return  # the API gave up waiting for it
    reply = _Channel(redis, workspace_reply_key(request.id), workspace_gone_key(request.id),
                     window=window, timeout_s=timeout_s)
    try:
        await reply.send(_ACCEPTED)
        upload = _upload(redis, request, timeout_s) if request.has_input else None
        answer = await _keeping_alive(reply, timeout_s, lambda: handler.handle(request, upload))
        if isinstance(answer, BaseModel):
            await reply.send(_RESULT + answer.model_dump_json().encode())
            return
        async for chunk in answer:
            await reply.send(_DATA + chunk)
        await reply.send(_RESULT + b"{}")
    except AppError as exc:
        message = "Internal error" if exc.code == ErrorCode.INTERNAL else exc.message
        with contextlib.suppress(Exception):
            await reply.send(_ERROR + orjson.dumps(
                {"code": exc.code.value, "message": message, "details": exc.details}))
    except Exception:
        log.exception("workspace request %s (%s) failed", request.id, request.op)
        with contextlib.suppress(Exception):
            await reply.send(_ERROR + orjson.dumps(
                {"code": "internal", "message": "The workspace request failed.", "details": {}}))
    finally:  # an upload still being sent stops: nobody reads it any more
        with contextlib.suppress(Exception):
            await redis.set(workspace_gone_key(request.id), b"1", ex=int(timeout_s * 4) + 10)


async def _keeping_alive(reply: _Channel, timeout_s: float,
                         work: Callable[[], Awaitable[Answer]]) -> Answer:
    """`work()`, with a keep-alive sent every third of the timeout while it runs."""
    task = asyncio.ensure_future(work())
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=timeout_s / 3)
            if done:
                return task.result()
            await reply.send(_KEEPALIVE)
    finally:
        task.cancel()


async def _upload(redis: Redis, request: WorkspaceRequest,
                  timeout_s: float) -> AsyncIterator[bytes]:
    key = workspace_input_key(request.id)
    while (message := await _pop(redis, key, timeout_s)) != _END_OF_INPUT:
        yield message[1:]
