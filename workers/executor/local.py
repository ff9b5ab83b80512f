"""LocalExecutor: the command as a local subprocess in its own process group.

Each run's pid is kept in `<data_dir>/run/<job_id>.pid` while it runs, and the process
carries `WX_JOB_ID` in its environment, so the orphans of a lost worker are found (and a
reused pid is never mistaken for one)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import stat
import tarfile
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO

from app.errors import BadRequest, ExecutorFailed, NotFound
from app.settings import Settings
from app.tarstream import IterReader, dir_header, file_chunks, tar_end
from workers.executor._children import watch_children_by_pidfd
from workers.executor._framing import LineFramer, StderrTail
from workers.executor._naming import check_id, inside
from workers.executor._streams import blocking_iter, iterate_blocking
from workers.executor.base import (
    CommandResult,
    Execution,
    Executor,
    ExecutorHealth,
    ExitStatus,
    LiveJobs,
    RunSpec,
)

__all__ = ["LocalExecution", "LocalExecutor"]

log = logging.getLogger(__name__)

_CHUNK = 256 * 1024
# The child gets this environment plus RunSpec.env, never the worker's own (it holds
# the worker's secrets and settings).
_BASE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


class LocalExecutor(Executor):
    """One workspace folder per tenant and project under `settings.data_dir`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.run_dir = settings.data_dir / "run"
        watch_children_by_pidfd()  # no thread per claude process (Python 3.11)

    @property
    def claude_bin(self) -> str:
        return str(self.settings.claude_bin)

    def workdir(self, tenant_id: str, project_id: str) -> str:
        check_id("tenant", tenant_id)
        check_id("project", project_id)
        return str(self.settings.workspaces_dir / tenant_id / project_id)

    def config_dir(self, tenant_id: str) -> str:
        return str(self.settings.data_dir / "claude-config" / check_id("tenant", tenant_id))

    async def start(self, spec: RunSpec) -> Execution:
        cwd = Path(self.workdir(spec.tenant_id, spec.project_id))
        config = Path(self.config_dir(spec.tenant_id))
        job_id = check_id("job", spec.job_id or uuid.uuid4().hex)
        cwd.mkdir(parents=True, exist_ok=True)
        config.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._place_shared_file(config, spec.shared_credentials_file)
        env = {**_BASE_ENV, "HOME": str(config), **spec.env, "CLAUDE_CONFIG_DIR": str(config),
               "WX_JOB_ID": job_id}
        proc = await self._spawn(spec.argv, cwd, env)
        pid_file = self.run_dir / f"{job_id}.pid"
        pid_file.write_text(str(proc.pid))
        return LocalExecution(proc, self.settings, pid_file)

    async def run_command(
        self, tenant_id: str, project_id: str, argv: Sequence[str], *,
        env: Mapping[str, str] | None = None, max_output: int = 1 << 20, timeout_s: float = 60.0,
    ) -> CommandResult:
        cwd = Path(self.workdir(tenant_id, project_id))
        cwd.mkdir(parents=True, exist_ok=True)
        proc = await self._spawn(argv, cwd, {**_BASE_ENV, "HOME": str(cwd), **(env or {})})
        try:
            return await asyncio.wait_for(_to_end(proc, max_output), timeout_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise ExecutorFailed(f"{argv[0]} did not finish within {timeout_s:.0f} s") from None

    async def _spawn(self, argv: Sequence[str], cwd: Path,
                     env: Mapping[str, str]) -> asyncio.subprocess.Process:
        """A tenant's process (claude, or git in its workspace): its own process group (so
        signals reach its children), below the runner's own processes."""
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                start_new_session=True)
        except OSError as exc:
            raise ExecutorFailed(f"cannot start {argv[0]!r}: {exc.strerror}") from exc
        with contextlib.suppress(OSError):  # its children inherit it
            os.setpriority(os.PRIO_PROCESS, proc.pid, self.settings.tenant_nice)
        return proc

    async def put_archive(
        self, tenant_id: str, project_id: str, tar: AsyncIterable[bytes]
    ) -> None:
        cwd = Path(self.workdir(tenant_id, project_id))
        cwd.mkdir(parents=True, exist_ok=True)
        chunks = blocking_iter(asyncio.get_running_loop(), tar)
        await asyncio.to_thread(_extract, chunks, cwd)

    async def get_archive(
        self, tenant_id: str, project_id: str, path: str = ""
    ) -> AsyncIterator[bytes]:
        target = Path(inside(self.workdir(tenant_id, project_id), path))
        if not target.exists() and not target.is_symlink():
            raise NotFound("Path")
        async for chunk in iterate_blocking(None, _tar_of(target)):
            yield chunk

    async def health(self) -> ExecutorHealth:
        return ExecutorHealth(kind="local", reachable=True)

    async def reap_orphans(self, live: LiveJobs) -> list[str]:
        reaped = []
        for pid_file in self.run_dir.glob("*.pid") if self.run_dir.exists() else []:
            job_id = pid_file.stem
            with contextlib.suppress(FileNotFoundError):
                if job_id in live or pid_file.stat().st_mtime >= live.since.timestamp():
                    continue
                pid = int(pid_file.read_text() or 0)
                if pid > 0 and _runs_job(pid, job_id):
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(pid, signal.SIGKILL)
                        reaped.append(job_id)
                pid_file.unlink(missing_ok=True)
        if reaped:
            log.warning("ended orphaned local claude runs of jobs %s", reaped)
        return reaped

    async def stop_idle(self, max_idle_s: float) -> list[str]:
        return []  # local process groups end with their turn

    async def close(self) -> None:
        return None

    def _place_shared_file(self, config: Path, wanted: bool) -> None:
        """The operator's shared OAuth credentials file, only for a run that uses it."""
        source = self.settings.claude_credentials_file
        target = config / ".credentials.json"
        if not wanted or source is None:
            target.unlink(missing_ok=True)
        elif not target.exists():
            shutil.copyfile(source, target)
            target.chmod(0o600)


class LocalExecution(Execution):
    """A running local process group."""

    def __init__(
        self, proc: asyncio.subprocess.Process, settings: Settings, pid_file: Path
    ) -> None:
        self._proc = proc
        self._settings = settings
        self._pid_file = pid_file
        self._framer = LineFramer(settings.max_line_bytes)
        self._stderr = StderrTail()
        self._stderr_task = asyncio.create_task(self._drain_stderr())

    @property
    def pid(self) -> int:
        return self._proc.pid

    async def lines(self) -> AsyncIterator[bytes]:
        assert self._proc.stdout is not None
        while chunk := await self._proc.stdout.read(_CHUNK):
            for line in self._framer.feed(chunk):
                yield line
        last = self._framer.finish()
        if last is not None:
            yield last

    async def interrupt(self) -> None:
        steps = (
            (signal.SIGINT, self._settings.cancel_sigint_grace_s),
            (signal.SIGTERM, self._settings.cancel_sigterm_grace_s),
            (signal.SIGKILL, None),
        )
        for sig, grace in steps:
            if self._proc.returncode is not None:
                break
            self._signal_group(sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), grace)
        # claude is gone; children it left in its group (a Bash tool's npm) go too
        self._signal_group(signal.SIGKILL)

    async def wait(self) -> ExitStatus:
        code = await self._proc.wait()
        await self._stderr_task
        self._pid_file.unlink(missing_ok=True)
        signalled = code < 0
        return ExitStatus(
            exit_code=128 - code if signalled else code,
            stderr=self._stderr.text(),
            signalled=signalled,
            dropped_lines=self._framer.dropped,
        )

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._proc.pid, sig)

    async def _drain_stderr(self) -> None:
        assert self._proc.stderr is not None
        while chunk := await self._proc.stderr.read(_CHUNK):
            self._stderr.add(chunk)


async def _to_end(proc: asyncio.subprocess.Process, max_output: int) -> CommandResult:
    assert proc.stdout is not None and proc.stderr is not None
    out, err, truncated = bytearray(), StderrTail(), False

    async def read_stdout() -> None:
        nonlocal truncated
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(_CHUNK):
            room = max_output - len(out)
            truncated = truncated or len(chunk) > room
            out.extend(chunk[:max(room, 0)])

    async def read_stderr() -> None:
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(_CHUNK):
            err.add(chunk)

    await asyncio.gather(read_stdout(), read_stderr())
    code = await proc.wait()
    return CommandResult(exit_code=code if code >= 0 else 128 - code, stdout=bytes(out),
                         stderr=err.text(), truncated=truncated)


def _files_only(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    if not (member.isreg() or member.isdir()):
        raise BadRequest(f"entry {member.name!r}: not a file or a folder", entry=member.name)
    try:
        return tarfile.data_filter(member, dest)  # no escape, even through a link on disk
    except tarfile.FilterError as exc:
        raise BadRequest(f"entry {member.name!r}: {exc}", entry=member.name) from exc


def _extract(chunks: Iterator[bytes], dest: Path) -> None:
    with tarfile.open(fileobj=IterReader(chunks), mode="r|") as tar:
        tar.extractall(dest, filter=_files_only)


def _tar_of(target: Path) -> Iterator[bytes]:
    """A tar stream of `target` named from its own name, as `docker cp` makes it."""
    root = target.parent
    for path in _walk(target):
        name = str(path.relative_to(root))
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode):
            yield dir_header(name, mtime=info.st_mtime, mode=stat.S_IMODE(info.st_mode))
        elif stat.S_ISREG(info.st_mode):
            with path.open("rb") as f:
                yield from file_chunks(name, info.st_size, _exactly(f, info.st_size),
                                       mtime=info.st_mtime, mode=stat.S_IMODE(info.st_mode))
        elif stat.S_ISLNK(info.st_mode):
            link = tarfile.TarInfo(name)
            link.type, link.linkname, link.mtime = tarfile.SYMTYPE, os.readlink(path), 0
            yield link.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    yield tar_end()


def _exactly(f: BinaryIO, size: int) -> Iterator[bytes]:
    """`size` bytes of `f`: cut when it grew while being read, zero-padded when it shrank."""
    left = size
    while left > 0:
        chunk = f.read(min(_CHUNK, left)) or b"\0" * min(_CHUNK, left)
        left -= len(chunk)
        yield chunk


def _walk(top: Path) -> Iterator[Path]:
    yield top
    if top.is_dir() and not top.is_symlink():
        for child in sorted(top.iterdir()):
            yield from _walk(child)


def _runs_job(pid: int, job_id: str) -> bool:
    """The process `pid` is still the run of `job_id` (not a reused pid)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False
    return f"WX_JOB_ID={job_id}".encode() in environ.split(b"\0")
