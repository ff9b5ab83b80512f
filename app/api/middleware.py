"""ASGI middleware of the API: request bodies bounded before they are read whole, and the
headers every HTTP answer carries (no MIME sniffing, no caching of user data)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import ErrorCode

__all__ = ["BodyLimit", "SecurityHeaders", "is_upload"]

# POST /api/projects/{id}/files streams to disk under its own bound (upload_max_bytes)
_UPLOAD_PATH: Final = re.compile(r"/api/projects/[^/]+/files/?")


def is_upload(scope: Scope) -> bool:
    return scope.get("method") == "POST" and _UPLOAD_PATH.fullmatch(scope["path"]) is not None


class BodyLimit:
    """Refuses a body over `max_bytes` with 413: at once when Content-Length says so, else
    as soon as the streamed chunks pass it. The (bounded) body is then replayed to the app."""

    def __init__(self, app: ASGIApp, *, max_bytes: int,
                 exempt: Callable[[Scope], bool] = is_upload) -> None:
        self.app, self.max_bytes, self.exempt = app, max_bytes, exempt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is None:
            await _error(send, 400, ErrorCode.BAD_REQUEST, "Invalid Content-Length")
            return
        if declared > self.max_bytes:
            await _too_large(send, self.max_bytes)
            return
        body = await self._read(receive)
        if body is None:
            await _too_large(send, self.max_bytes)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body, or None once it passes the limit (or the client left)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


class SecurityHeaders:
    """Every HTTP answer: no MIME sniffing, never framed (the /docs page included), and
    `Cache-Control: no-store` unless the route set its own (SSE does)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"x-frame-options", b"DENY"))
                if b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", b"frame-ancestors 'none'"))
                if b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _content_length(scope: Scope) -> int | None:
    """The declared length (0 when absent), or None when it is not a number."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else None
    return 0


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then: the client's disconnect, as the app expects

    return replay


async def _too_large(send: Send, max_bytes: int) -> None:
    await _error(send, 413, ErrorCode.BAD_REQUEST,
                 f"Request body too large (at most {max_bytes} bytes)",
                 {"max_bytes": max_bytes})


async def _error(send: Send, status: int, code: ErrorCode, message: str,
                 details: dict[str, object] | None = None) -> None:
    body = orjson.dumps({"code": code.value, "message": message, "details": details or {}})
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": body})
