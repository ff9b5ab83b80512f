"""The egress proxy: a tenant container's only way out (`wxrunner egress`).

An HTTP proxy on a unix socket of the worker host, bind-mounted into every tenant container
(which has no network: a forwarder in it listens on its own 127.0.0.1). It serves CONNECT
(https) and absolute-form requests (plain http: the simulator in development and tests) to
the model API's host:port and the few extra ones configured, and answers anything else 403
before it connects or resolves a name: a refused request sends nothing past loopback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from app.settings import Settings

__all__ = [
    "DEFAULT_MODEL_API",
    "EgressRefused",
    "Target",
    "allowed_targets",
    "parse_host_port",
    "parse_request_head",
    "probe_socket",
    "serve",
]

log = logging.getLogger(__name__)

DEFAULT_MODEL_API = "api.anthropic.com:443"
# Where Claude Code 2.1.332 refreshes the OAuth credentials of a credentials file
# (TOKEN_URL in the binary); a setup-token or an API key needs no refresh.
OAUTH_REFRESH = "platform.claude.com:443"
_HEAD_MAX_BYTES = 64 * 1024
_HEAD_TIMEOUT_S = 30.0
_PIPE_CHUNK = 64 * 1024
_HOP_BY_HOP = (b"proxy-connection", b"proxy-authorization", b"connection", b"keep-alive")


@dataclass(frozen=True)
class Target:
    """host:port, the host lower-cased, without brackets or a trailing dot."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


class EgressRefused(Exception):
    """A request the proxy does not serve; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class _Request:
    method: str
    target: Target
    head: bytes  # what to send upstream: b"" for CONNECT (a tunnel)


def parse_host_port(text: str, *, default_port: int | None = None) -> Target:
    """`host:port` (or `[v6]:port`) as a Target; the port is required unless defaulted."""
    parts = urlsplit(f"//{text.strip()}")
    try:
        port = parts.port
    except ValueError as exc:
        raise EgressRefused(400, f"bad port in {text!r}") from exc
    host = (parts.hostname or "").rstrip(".").lower()
    if not host or parts.username is not None or parts.path or parts.query:
        raise EgressRefused(400, f"not a host:port: {text!r}")
    port = port if port is not None else default_port
    if port is None or port == 0:
        raise EgressRefused(400, f"no port in {text!r}")
    return Target(host, port)


def allowed_targets(settings: Settings) -> frozenset[Target]:
    """The model API (from anthropic_base_url, else api.anthropic.com:443, and the OAuth
    refresh host with a credentials file) and the extras."""
    allowed = set()
    if settings.anthropic_base_url:
        url = urlsplit(settings.anthropic_base_url)
        scheme_port = {"http": 80, "https": 443}.get(url.scheme)
        if scheme_port is None or not url.hostname:
            raise ValueError(f"WX_ANTHROPIC_BASE_URL is not an http(s) URL: "
                             f"{settings.anthropic_base_url!r}")
        allowed.add(parse_host_port(url.netloc.rpartition("@")[2], default_port=scheme_port))
    else:
        allowed.add(parse_host_port(DEFAULT_MODEL_API))
        if settings.claude_credentials_file is not None:
            allowed.add(parse_host_port(OAUTH_REFRESH))
    for extra in settings.egress_allowed_hosts:
        allowed.add(parse_host_port(extra, default_port=443))
    return frozenset(allowed)


def parse_request_head(head: bytes) -> _Request:
    """The request a proxy client sent: CONNECT host:port, or METHOD http://host[:port]/…
    (turned into origin-form with `Connection: close`, so one connection is one request)."""
    request_line, _, rest = head.partition(b"\r\n")
    try:
        method, uri, version = request_line.decode("ascii").split(" ")
    except (UnicodeDecodeError, ValueError) as exc:
        raise EgressRefused(400, "malformed request line") from exc
    if not version.startswith("HTTP/1."):
        raise EgressRefused(400, f"unsupported version {version!r}")
    if method == "CONNECT":
        return _Request(method, parse_host_port(uri), b"")
    url = urlsplit(uri)
    if url.scheme != "http" or not url.netloc:
        raise EgressRefused(400, "only CONNECT and absolute http:// requests are proxied")
    target = parse_host_port(url.netloc, default_port=80)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    headers = [line for line in rest.split(b"\r\n")
               if line and line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP]
    upstream = b"\r\n".join([f"{method} {path} {version}".encode(), *headers,
                             b"Connection: close", b"", b""])
    return _Request(method, target, upstream)


class _Proxy:
    def __init__(self, allowed: frozenset[Target], connect_timeout_s: float) -> None:
        self.allowed = allowed
        self.connect_timeout_s = connect_timeout_s

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except Exception as exc:  # one client's failure never stops the proxy
            log.warning("egress connection failed: %s", exc)
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _HEAD_TIMEOUT_S)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
            return
        try:
            request = parse_request_head(head)
            if request.target not in self.allowed:
                raise EgressRefused(403, "host not allowed")
        except EgressRefused as refused:
            log.warning("egress refused (%d %s): %s", refused.status, refused.reason,
                        head.partition(b"\r\n")[0][:200].decode("ascii", "replace"))
            await _answer(writer, refused.status, refused.reason)
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(request.target.host, request.target.port),
                self.connect_timeout_s)
        except (OSError, TimeoutError) as exc:
            log.warning("egress to %s failed: %s", request.target, exc)
            await _answer(writer, 502, "upstream unreachable")
            return
        log.info("egress %s %s", request.method, request.target)
        if request.head:
            up_writer.write(request.head)
        else:
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _answer(writer: asyncio.StreamWriter, status: int, reason: str) -> None:
    phrase = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    body = f"egress proxy: {reason}\n".encode()
    writer.write(f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    with contextlib.suppress(Exception):
        await writer.drain()


async def _pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    try:
        while data := await src.read(_PIPE_CHUNK):
            dst.write(data)
            await dst.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if dst.can_write_eof():
                dst.write_eof()
            else:
                dst.close()


def probe_socket(path: Path, timeout_s: float = 1.0) -> str | None:
    """None when something accepts connections on the unix socket `path`, else why not."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout_s)
        try:
            sock.connect(str(path))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


async def serve(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """Serve on settings.egress_socket until cancelled."""
    path = settings.egress_socket
    allowed = allowed_targets(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(PermissionError):  # not ours: its owner set it up
        path.parent.chmod(0o755)  # tenant containers (uid 1000) traverse it
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a socket left by a proxy that died
    proxy = _Proxy(allowed, settings.egress_connect_timeout_s)
    server = await asyncio.start_unix_server(proxy.handle, str(path), limit=_HEAD_MAX_BYTES)
    os.chmod(path, 0o666)  # any uid of a tenant container may connect; it reaches only `allowed`
    log.info("egress proxy on %s allows %s", path, ", ".join(sorted(map(str, allowed))))
    if ready is not None:
        ready.set()
    try:
        async with server:
            await server.serve_forever()
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
