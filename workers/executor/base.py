"""The executor interface: run a command for a (tenant, project), stream its stdout lines."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunSpec:
    """What to run. `env` may hold secrets: it goes to the process only, never to logs."""

    tenant_id: str
    project_id: str
    argv: list[str]
    env: Mapping[str, str] = field(default_factory=dict, repr=False)
    job_id: str = ""


@dataclass(frozen=True)
class ExitStatus:
    exit_code: int | None
    stderr: str = ""
    signalled: bool = False
    dropped_lines: int = 0  # stdout lines over max_line_bytes, skipped


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
        """Start `spec.argv` in the project's working directory (created on demand)."""

    @abstractmethod
    async def close(self) -> None:
        """Release clients and connections (running tenant containers stay up)."""
