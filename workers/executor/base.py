"""The executor interface: run a command for a (tenant, project), stream its stdout lines,
and look after what runs (health, orphaned runs of a lost worker, idle sandboxes)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bson import ObjectId
from bson.errors import InvalidId

__all__ = [
    "CommandResult",
    "Execution",
    "Executor",
    "ExecutorHealth",
    "ExitStatus",
    "LiveJobs",
    "RunSpec",
]

_CLOCK_SKEW = timedelta(seconds=5)


@dataclass(frozen=True)
class RunSpec:
    """What to run. `env` may hold secrets: it goes to the process only, never to logs."""

    tenant_id: str
    project_id: str
    argv: list[str]
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    job_id: str = ""
    # The run uses the operator's shared OAuth credentials file (settings
    # claude_credentials_file): it is put in the sandbox's config dir, and taken out of it
    # for every other run, so a tenant with its own credential never holds the shared one.
    shared_credentials_file: bool = False


@dataclass(frozen=True)
class ExitStatus:
    exit_code: int | None
    stderr: str = ""
    signalled: bool = False
    dropped_lines: int = 0  # stdout lines over max_line_bytes, skipped


@dataclass(frozen=True)
class CommandResult:
    """What a short command left: its exit code, stdout (capped), the tail of stderr."""

    exit_code: int
    stdout: bytes
    stderr: str = ""
    truncated: bool = False  # stdout went past the cap: the rest was dropped


@dataclass(frozen=True)
class ExecutorHealth:
    """What a worker host reports about its executor (app/services/hosts.py)."""

    kind: str  # "docker" | "local"
    reachable: bool  # the sandbox engine answers (always True for local processes)
    sandboxes: int = 0  # running tenant containers


class LiveJobs(set[str]):
    """Job ids of a snapshot of live jobs (queued or running), plus every job created after it.

    The snapshot is taken before the scan of running claude processes; a job queued and
    started in between has a run but is not in the snapshot. Its ObjectId carries its
    creation time, so it still counts as live and is never killed."""

    def __init__(self, ids: Iterable[str], *, since: datetime) -> None:
        super().__init__(ids)
        self.since = since - _CLOCK_SKEW

    def __contains__(self, job_id: object) -> bool:
        if super().__contains__(job_id):
            return True
        try:
            return ObjectId(str(job_id)).generation_time >= self.since
        except InvalidId:
            return True  # not one of ours: leave it alone


class Execution(ABC):
    """One running command."""

    @abstractmethod
    def lines(self) -> AsyncIterator[bytes]:
        """Yield stdout lines (without the newline) as they arrive; partial lines are
        buffered until complete, a final unterminated line is yielded at EOF. Lines of
        many MB are legal up to `max_line_bytes`, beyond which the line is dropped and
        counted rather than breaking the stream."""

    @abstractmethod
    async def interrupt(self) -> None:
        """Stop the command: SIGINT, then SIGTERM and SIGKILL after the grace periods.
        Returns once the process is gone. Safe to call more than once, and after exit."""

    @abstractmethod
    async def wait(self) -> ExitStatus:
        """Wait for the process to end; its exit code and the tail of stderr."""


class Executor(ABC):
    """Runs commands in a tenant's sandbox (a container or a local process group)."""

    @property
    @abstractmethod
    def claude_bin(self) -> str:
        """The claude executable as the command sees it (argv[0] for build_cli_command)."""

    @abstractmethod
    def config_dir(self, tenant_id: str) -> str:
        """The tenant's CLAUDE_CONFIG_DIR as the command sees it (set by start())."""

    @abstractmethod
    def workdir(self, tenant_id: str, project_id: str) -> str:
        """The project's working directory as the command sees it."""

    @abstractmethod
    async def start(self, spec: RunSpec) -> Execution:
        """Start `spec.argv` in the project's working directory (created on demand); the run
        is recorded under `spec.job_id` until it ends, for `reap_orphans`."""

    @abstractmethod
    async def run_command(
        self, tenant_id: str, project_id: str, argv: Sequence[str], *,
        env: Mapping[str, str] | None = None, max_output: int = 1 << 20, timeout_s: float = 60.0,
    ) -> CommandResult:
        """Run a short command to its end in the project's working directory (created on
        demand), as the sandbox's user, with `env` and no credentials. stdout is kept up to
        `max_output` bytes (the rest is read and dropped: `truncated`); a command still
        running after `timeout_s` is killed and ExecutorFailed raised."""

    @abstractmethod
    async def put_archive(
        self, tenant_id: str, project_id: str, tar: AsyncIterable[bytes]
    ) -> None:
        """Extract an uncompressed tar stream into the project's working directory (created
        on demand), as the sandbox's user. The caller has checked every entry (relative
        paths inside the folder, regular files and folders only); an entry that is not so
        is refused (BadRequest) rather than written."""

    @abstractmethod
    def get_archive(self, tenant_id: str, project_id: str, path: str = "") -> AsyncIterator[bytes]:
        """A tar stream of `path` (relative to the project's working directory, "" for all
        of it), as `docker cp` makes it: entries named from the last part of `path` (the
        working directory's own name for ""), links stored as links, never followed.
        NotFound when `path` does not exist. Stopping early releases the stream."""

    @abstractmethod
    async def health(self) -> ExecutorHealth:
        """Whether the sandbox engine answers, and how many sandboxes run."""

    @abstractmethod
    async def reap_orphans(self, live: LiveJobs) -> list[str]:
        """End the runs whose job is not live (their worker died); the reaped job ids.

        `live` must hold every job queued or running anywhere (from the job store), not
        only this worker's: sandboxes are shared by every worker of the host. A run that
        began after `live.since` is never reaped: its job may be missing from the snapshot."""

    @abstractmethod
    async def stop_idle(self, max_idle_s: float) -> list[str]:
        """Stop the sandboxes unused for `max_idle_s` with nothing running; their names."""

    @abstractmethod
    async def close(self) -> None:
        """Release clients and connections (running tenant containers stay up)."""
