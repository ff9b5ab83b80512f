"""One project's workspace as seen through its executor."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from workers.executor.base import CommandResult, Executor

__all__ = ["GIT_DIRS", "Workspace"]

GIT_DIRS: Final = ".wx-git"  # beside the projects: never in a listing, a zip or Claude's cwd


@dataclass(frozen=True)
class Workspace:
    executor: Executor
    tenant_id: str
    project_id: str

    @property
    def workdir(self) -> str:
        return self.executor.workdir(self.tenant_id, self.project_id)

    @property
    def git_dir(self) -> str:
        """The project's git repository, outside its folder (so Claude's tools, a listing
        and a download never see it)."""
        return posixpath.join(posixpath.dirname(self.workdir), GIT_DIRS, self.project_id)

    async def sh(self, script: str, *args: str, env: Mapping[str, str] | None = None,
                 max_output: int = 1 << 20, timeout_s: float = 60.0) -> CommandResult:
        """`sh -c script` in the project's folder, with `args` as $1, $2, ..."""
        return await self.executor.run_command(
            self.tenant_id, self.project_id, ["sh", "-c", script, "wx-ws", *args], env=env,
            max_output=max_output, timeout_s=timeout_s)
