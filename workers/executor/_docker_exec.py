"""One claude run inside a tenant container: a streaming docker exec, and its cancel."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor as ThreadPool
from typing import Any, TypeVar

from app.errors import ExecutorFailed
from app.settings import Settings
from workers.executor._framing import LineFramer, StderrTail
from workers.executor._naming import CONFIG_DIR_IN_CONTAINER, RUN_DIR_IN_CONTAINER, WX_USER
from workers.executor.base import CommandResult, Execution, ExitStatus

__all__ = [
    "DockerExecution",
    "exec_output",
    "pid_path",
    "run_to_end",
    "signal_until_gone",
    "wrap_argv",
]

_QUEUE_SLOTS = 64  # docker frames are <= 32 KiB: at most ~2 MiB in flight per run
_STDOUT, _STDERR = 1, 2
_POLL_S = 0.05
LAST_USED = f"{RUN_DIR_IN_CONTAINER}/last-used"


def pid_path(job_id: str) -> str:
    return f"{RUN_DIR_IN_CONTAINER}/{job_id}.pid"


T = TypeVar("T")

# $1 workdir, $2 pid file, then the command: make the folders, mark the container used,
# record the pid (for cancel and orphan reaping), enter the workdir and exec the command.
_WRAPPER = (
    f'w=$1 p=$2; shift 2; mkdir -p "$w" {RUN_DIR_IN_CONTAINER} {CONFIG_DIR_IN_CONTAINER} '
    f'&& touch {LAST_USED} && echo $$ > "$p" && cd "$w" && exec "$@"'
)


def wrap_argv(job_id: str, workdir: str, argv: Sequence[str], *, prelude: str = "") -> list[str]:
    """One exec that prepares the run (after the shell `prelude`, which takes no arguments)
    and becomes the command (see _WRAPPER)."""
    return ["/bin/sh", "-c", prelude + _WRAPPER, "wx-run", workdir, pid_path(job_id), *argv]


def exec_output(api: Any, container_id: str, cmd: list[str]) -> tuple[int, bytes]:
    """Run a short command in the container; (exit code, stdout+stderr)."""
    exec_id = api.exec_create(container_id, cmd, stdout=True, stderr=True)["Id"]
    output = api.exec_start(exec_id)
    code = api.exec_inspect(exec_id).get("ExitCode")
    return (code if code is not None else -1), output


def run_to_end(
    api: Any, container_id: str, cmd: list[str], env: dict[str, str], max_output: int
) -> CommandResult:
    """Run a command as the tenant's user to its end; stdout kept up to `max_output`."""
    exec_id = api.exec_create(container_id, cmd, stdout=True, stderr=True, environment=env,
                              workdir="/", user=WX_USER)["Id"]
    out, err, truncated = bytearray(), StderrTail(), False
    for stdout, stderr in api.exec_start(exec_id, stream=True, demux=True):
        if stdout:
            room = max_output - len(out)
            truncated = truncated or len(stdout) > room
            out += stdout[:max(room, 0)]
        if stderr:
            err.add(stderr)
    code = api.exec_inspect(exec_id).get("ExitCode")
    return CommandResult(exit_code=code if code is not None else -1, stdout=bytes(out),
                         stderr=err.text(), truncated=truncated)


def signal_until_gone(
    api: Any, container_id: str, pid: str, is_alive: Any, settings: Settings
) -> None:
    """SIGINT, then SIGTERM and SIGKILL after the grace periods, until `is_alive()` is False."""
    steps = (
        (signal.SIGINT, settings.cancel_sigint_grace_s),
        (signal.SIGTERM, settings.cancel_sigterm_grace_s),
        (signal.SIGKILL, 5.0),
    )
    for sig, grace in steps:
        if not is_alive():
            return
        exec_output(api, container_id, ["kill", f"-{sig.name.removeprefix('SIG')}", pid])
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and is_alive():
            time.sleep(_POLL_S)


class DockerExecution(Execution):
    """A streaming exec; a thread reads docker's multiplexed stream into a bounded queue."""

    def __init__(
        self, api: Any, container_id: str, exec_id: str, job_id: str, settings: Settings,
        pool: ThreadPool,
    ) -> None:
        self._api = api
        self._pool = pool
        self._container_id = container_id
        self._exec_id = exec_id
        self._pid_file = pid_path(job_id)
        self._settings = settings
        self._framer = LineFramer(settings.max_line_bytes)
        self._stderr = StderrTail()
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        self._slots = threading.Semaphore(_QUEUE_SLOTS)
        self._closed = threading.Event()
        self._thread: threading.Thread | None = None
        self._status: ExitStatus | None = None

    def begin(self, sock: Any) -> None:
        """Start the reader thread on the exec's attached socket."""
        for part in (sock, getattr(sock, "_sock", None)):
            if part is not None and hasattr(part, "settimeout"):
                part.settimeout(None)  # a long turn must not hit the client's read timeout
        self._thread = threading.Thread(target=self._pump, args=(sock,), daemon=True)
        self._thread.start()

    async def lines(self) -> AsyncIterator[bytes]:
        try:
            while (item := await self._next()) is not None:
                if isinstance(item, BaseException):
                    raise ExecutorFailed(f"docker exec stream failed: {item}") from item
                for line in self._framer.feed(item):
                    yield line
            last = self._framer.finish()
            if last is not None:
                yield last
        finally:
            self._closed.set()

    async def interrupt(self) -> None:
        await self._call(self._interrupt_sync)

    async def wait(self) -> ExitStatus:
        if self._status is None:
            if self._thread is not None:
                await self._call(self._thread.join)
            code = await self._call(self._exit_code)
            await self._call(self._cleanup)
            self._status = ExitStatus(
                exit_code=code,
                stderr=self._stderr.text(),
                signalled=code is not None and code > 128,
                dropped_lines=self._framer.dropped,
            )
        return self._status

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._loop.run_in_executor(self._pool, functools.partial(fn, *args))

    async def _next(self) -> bytes | BaseException | None:
        item = await self._queue.get()
        self._slots.release()
        return item

    def _pump(self, sock: Any) -> None:
        from docker.utils.socket import frames_iter

        try:
            for stream, data in frames_iter(sock, tty=False):
                if stream == _STDERR:
                    self._stderr.add(data)
                elif stream == _STDOUT and data:
                    self._post(data)
        except Exception as exc:  # the stream broke: hand the error to lines()
            self._post(exc)
        finally:
            with contextlib.suppress(Exception):
                sock.close()
            self._post(None)

    def _post(self, item: bytes | BaseException | None) -> None:
        # Back-pressure: block while the consumer is _QUEUE_SLOTS items behind; give up
        # once it has gone (lines() finished) or the event loop is closed.
        while not self._closed.is_set():
            if self._slots.acquire(timeout=0.5):
                try:
                    self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
                except RuntimeError:
                    self._closed.set()
                return

    def _running(self) -> bool:
        return bool(self._api.exec_inspect(self._exec_id).get("Running"))

    def _interrupt_sync(self) -> None:
        pid = self._read_pid()
        if pid is not None:
            signal_until_gone(self._api, self._container_id, pid, self._running, self._settings)
            # children claude left behind (a Bash tool's npm) are in its process group
            exec_output(self._api, self._container_id, ["kill", "-KILL", "--", f"-{pid}"])

    def _read_pid(self) -> str | None:
        deadline = time.monotonic() + 2.0  # the wrapper writes it first thing
        while self._running():
            code, out = exec_output(self._api, self._container_id, ["cat", self._pid_file])
            pid = out.decode(errors="replace").strip()
            if code == 0 and pid.isdigit():
                return pid
            if time.monotonic() > deadline:
                raise ExecutorFailed("no pid file for the running command: cannot signal it")
            time.sleep(_POLL_S)
        return None

    def _exit_code(self) -> int | None:
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            info = self._api.exec_inspect(self._exec_id)
            if not info.get("Running"):
                code = info.get("ExitCode")
                return int(code) if code is not None else None
            time.sleep(_POLL_S)
        return None

    def _cleanup(self) -> None:
        with contextlib.suppress(Exception):
            exec_output(
                self._api, self._container_id,
                ["sh", "-c", 'rm -f "$0"; touch "$1"', self._pid_file, LAST_USED],
            )
