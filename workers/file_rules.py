"""Claude Code permission rules that confine its file tools to the project's workspace.

Checked against the pinned Claude Code (2.1.332), `tests/security/test_file_tools.py`:

* `Read(//abs/path/**)` names an absolute path (`//` is the filesystem root; one `/` would be
  relative to the settings file). Read rules also govern Grep and Glob; Edit rules govern
  Write, Edit and NotebookEdit, and a Read deny rule stops edits as well.
* Claude Code resolves `..` and symbolic links before it matches a rule, so a link in the
  workspace to the config dir meets the config dir's deny rule, and a link to anywhere
  else matches no allow rule.
* In `dontAsk` mode a call no allow rule covers is denied. Deny rules win over every allow,
  from any source, so they must never cover the workspace itself.
* A bare tool name (`Read`) allows the tool on every path: never used here.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Final

from app.errors import ExecutorFailed
from workers.workspace.space import GIT_DIRS

__all__ = ["WRITE_TOOLS", "file_permissions"]

WRITE_TOOLS: Final = frozenset({"Write", "Edit", "NotebookEdit"})
# Places no file tool has any business in, whatever the workspace (each left out when the
# workspace lies inside it: a deny rule there would deny the workspace too).
_SYSTEM_DIRS: Final = ("/proc", "/sys", "/dev", "/etc", "/root", "/home", "/run", "/var",
                       "/usr", "/opt", "/tmp")
# gitignore pattern characters: a path with one of them cannot be written as a literal rule
_PLAIN_PATH = re.compile(r"^/[A-Za-z0-9._/+@=,:-]*$")


def file_permissions(*, workdir: str, config_dir: str, tools: tuple[str, ...],
                     extra_allow: tuple[str, ...] = ()) -> dict[str, Any]:
    """The `permissions` block of the settings a turn runs with: reads (and, when the
    context has a write tool, edits) allowed in `workdir` alone; the config dir and the
    system directories denied, and edits of the git histories."""
    workdir, config_dir = _absolute(workdir), _absolute(config_dir)
    if _contains(config_dir, workdir) or _contains(workdir, config_dir):
        raise ExecutorFailed("the workspace and the config dir must not contain each other")
    allow = [_rule("Read", workdir)]
    if WRITE_TOOLS & set(tools):
        allow.append(_rule("Edit", workdir))
    denied = [config_dir, *(d for d in _SYSTEM_DIRS if not _contains(d, workdir))]
    deny = [_rule(tool, d) for d in denied for tool in ("Read", "Edit")]
    # the runner's git history of the project (beside the projects) and an uploaded .git
    deny += [_rule("Edit", f"{posixpath.dirname(workdir)}/{GIT_DIRS}"),
             _rule("Edit", f"{workdir}/.git")]
    return {"allow": [*allow, *extra_allow], "deny": deny}


def _absolute(path: str) -> str:
    normal = posixpath.normpath(path)
    if not _PLAIN_PATH.match(normal) or normal == "/":
        raise ExecutorFailed("a sandbox path cannot be written as a permission rule")
    return normal


def _contains(parent: str, path: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _rule(tool: str, directory: str) -> str:
    return f"{tool}(/{directory}/**)"
