"""The workspace's git history: the runner commits after every turn (author: the runner;
message: the job id and the prompt's first line), so what a turn changed, its diff and a
revert come from git. git runs inside the tenant's own sandbox, on a repository kept
outside the project's folder; hooks, fsmonitor, filters of external diffs and any user or
system configuration are switched off, so a tampered repository runs nothing of its own."""

from __future__ import annotations

import asyncio
import uuid
from typing import Final

from app.errors import AppError, BadRequest, ExecutorFailed
from app.protocol import ChangedFile, ChangeStatus, FilesChangedFrame
from app.workspace import FileDiff, RevertResult, TurnChanges
from workers.executor.base import CommandResult
from workers.workspace.space import Workspace
from workers.workspace.text import decode_for_display

__all__ = [
    "GitFailed",
    "changes_of",
    "commit_turn",
    "files_changed_frame",
    "revert_to_before",
    "snapshot",
]

_ENV: Final = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null",
               "GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
_LOCK_RETRIES: Final = 20  # another git of the same project holds index.lock (two turns)
_SUBJECT_CHARS: Final = 200

# $1 git dir, $2 work tree; g() is git on them. The repository is made on first use, with
# an empty first commit, so every later commit has a parent.
_PRELUDE: Final = r"""
G=$1 W=$2; shift 2
g() {
  git --git-dir="$G" --work-tree="$W" -c core.hooksPath=/dev/null -c core.fsmonitor=false \
    -c core.quotePath=false -c core.autocrlf=false -c core.safecrlf=false -c gc.auto=0 \
    -c maintenance.auto=false -c commit.gpgSign=false -c diff.external= \
    -c user.name="wxcode runner" -c user.email=runner@wxcode.invalid "$@"
}
if [ ! -f "$G/HEAD" ]; then
  mkdir -p "$G" && g init -q --template= && g commit -q --allow-empty -m "workspace created" \
    || exit 1
fi
"""
# $1 message: commit what changed since the last commit, if anything; print HEAD.
_SNAPSHOT: Final = _PRELUDE + r"""
g add -A && { g diff --cached --quiet || g commit -q -m "$1"; } || exit 1
g rev-parse HEAD
"""
# $1 message, $2 boundary: commit the turn (also when nothing changed), print HEAD, then
# what changed since its parent.
_COMMIT: Final = _PRELUDE + r"""
g add -A && g commit -q --allow-empty -m "$1" || exit 1
g rev-parse HEAD && printf '%s' "$2"
g diff --raw --numstat -z --no-renames HEAD~1 HEAD
"""
# $1 job id, $2 boundary, $3 patch byte limit: the turn's commit and parent, the files it
# changed, then its patch (cut at the limit). Exit 3: the job has no commit.
_CHANGES: Final = _PRELUDE + r"""
c=$(g log -n 1 --format=%H --grep="^$1 " HEAD) || exit 1
[ -n "$c" ] || exit 3
g rev-parse "$c" "$c~1" && printf '%s' "$2"
g diff --raw --numstat -z --no-renames "$c~1" "$c" && printf '%s' "$2"
g diff --no-color --no-ext-diff --no-textconv --no-renames "$c~1" "$c" | head -c "$3"
"""
# $1 job id, $2 message of the snapshot before, $3 message of the revert, $4 boundary:
# commit what is pending, put index and files back as they were before the turn's commit,
# commit that, print the commits, then what the revert changed. Exit 3: no commit.
_REVERT: Final = _PRELUDE + r"""
c=$(g log -n 1 --format=%H --grep="^$1 " HEAD) || exit 1
[ -n "$c" ] || exit 3
g add -A && { g diff --cached --quiet || g commit -q -m "$2"; } || exit 1
g read-tree -u --reset "$c~1" && g add -A && g commit -q --allow-empty -m "$3" || exit 1
g rev-parse HEAD "$c~1" && printf '%s' "$4"
g diff --raw --numstat -z --no-renames HEAD~1 HEAD
"""
_STATUS: Final[dict[str, ChangeStatus]] = {"A": "added", "M": "modified", "D": "deleted",
                                            "T": "modified"}
_NO_COMMIT: Final = 3


class GitFailed(ExecutorFailed):
    """git failed in the workspace (its stderr is in the message)."""


def commit_message(job_id: str, prompt: str) -> str:
    """`<job id> <the prompt's first line>` (what `changes_of` finds the commit by)."""
    first = next((line.strip() for line in prompt.replace("\0", "").splitlines()
                  if line.strip()), "")
    return f"{job_id} {first[:_SUBJECT_CHARS]}".strip()


async def snapshot(ws: Workspace, message: str) -> str:
    """Commit whatever changed since the last commit (an upload, a lost turn's leftovers);
    HEAD afterwards."""
    result = await _git(ws, _SNAPSHOT, message)
    return result.stdout.decode().strip()


async def commit_turn(ws: Workspace, job_id: str, prompt: str) -> tuple[str, list[ChangedFile]]:
    """Commit the turn's changes (an empty commit when there are none); (commit, files)."""
    boundary = _boundary()
    result = await _git(ws, _COMMIT, commit_message(job_id, prompt), boundary)
    head, changed = _sections(result.stdout, boundary, 2)
    return head.decode().strip(), parse_changed(changed)


def files_changed_frame(job_id: str, commit: str, files: list[ChangedFile], *,
                        max_files: int) -> FilesChangedFrame:
    return FilesChangedFrame(job_id=job_id, commit=commit, files=files[:max_files],
                             total=len(files), truncated=len(files) > max_files)


async def changes_of(ws: Workspace, job_id: str, *, max_bytes: int,
                     max_file_bytes: int) -> TurnChanges:
    """The files the job's turn changed, each with its unified diff (cut at `max_file_bytes`,
    all of them at `max_bytes`)."""
    boundary = _boundary()
    try:
        result = await _git(ws, _CHANGES, job_id, boundary, str(max_bytes + 1),
                            max_output=max_bytes + 64 * 1024)
    except _NoCommit:
        return TurnChanges(job_id=job_id, commit=None)
    commits, changed, patch = _sections(result.stdout, boundary, 3)
    commit, parent = commits.decode().split()[:2]
    files = parse_changed(changed)
    cut = len(patch) > max_bytes
    diffs = _split_patch(patch[:max_bytes])
    out = []
    for i, changed_file in enumerate(files):
        raw = diffs[i] if i < len(diffs) else b""
        partial = len(raw) > max_file_bytes or (cut and i >= len(diffs) - 1)
        text, _ = decode_for_display(raw[:max_file_bytes], cut=partial)
        out.append(FileDiff(**changed_file.model_dump(), binary=changed_file.additions is None,
                            diff=text, diff_truncated=partial))
    return TurnChanges(job_id=job_id, commit=commit, parent=parent, files=out, truncated=cut)


async def revert_to_before(ws: Workspace, job_id: str) -> RevertResult:
    """Put the workspace back as it was before the job's turn (later changes too), as a new
    commit: the history keeps everything, so a revert can itself be undone."""
    boundary = _boundary()
    try:
        result = await _git(ws, _REVERT, job_id, f"before the revert of {job_id}",
                            f"revert to before {job_id}", boundary)
    except _NoCommit:
        raise BadRequest("This turn left no commit in the workspace: nothing to restore.",
                         job_id=job_id) from None
    commits, changed = _sections(result.stdout, boundary, 2)
    commit, restored = commits.decode().split()[:2]
    files = parse_changed(changed)
    await _remove_emptied_folders(ws, [f.path for f in files if f.status == "deleted"])
    return RevertResult(job_id=job_id, commit=commit, restored=restored, files=files)


def parse_changed(raw: bytes) -> list[ChangedFile]:
    """`git diff --raw --numstat -z` output as changed files, by path."""
    status: dict[str, ChangeStatus] = {}
    counts: dict[str, tuple[int | None, int | None]] = {}
    tokens = iter(raw.split(b"\0"))
    for token in tokens:
        if token.startswith(b":"):
            path = next(tokens, b"").decode("utf-8", "surrogateescape")
            status[path] = _STATUS.get(token.split()[-1][:1].decode(), "modified")
        elif token.count(b"\t") >= 2:
            added, deleted, name = token.split(b"\t", 2)
            path = name.decode("utf-8", "surrogateescape")
            counts[path] = (_count(added), _count(deleted))
    return [ChangedFile(path=_printable(p), status=s, additions=counts.get(p, (None, None))[0],
                        deletions=counts.get(p, (None, None))[1])
            for p, s in sorted(status.items())]


def _count(raw: bytes) -> int | None:
    return None if raw == b"-" else int(raw)


def _printable(path: str) -> str:
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _split_patch(patch: bytes) -> list[bytes]:
    """A multi-file patch cut into one patch per file (in git's order: by path)."""
    starts = [0] if patch.startswith(b"diff --git ") else []
    at = 0
    while (at := patch.find(b"\ndiff --git ", at)) >= 0:
        at += 1
        starts.append(at)
    ends = [*starts[1:], len(patch)] if starts else []
    return [patch[a:b] for a, b in zip(starts, ends, strict=True)]


def _sections(out: bytes, boundary: str, count: int) -> list[bytes]:
    parts = out.split(boundary.encode(), count - 1)
    if len(parts) != count:
        raise GitFailed(f"unexpected git output: {out[:300]!r}")
    return parts


def _boundary() -> str:
    return f"\n--wx-{uuid.uuid4().hex}--\n"


class _NoCommit(AppError):
    pass


async def _git(ws: Workspace, script: str, *args: str,
               max_output: int = 4 * 1024 * 1024) -> CommandResult:
    for attempt in range(1, _LOCK_RETRIES + 1):
        result = await ws.sh(script, ws.git_dir, ws.workdir, *args, env=_ENV,
                             max_output=max_output, timeout_s=120.0)
        if result.exit_code == 0:
            return result
        if result.exit_code == _NO_COMMIT:
            raise _NoCommit("no commit")
        if "index.lock" not in result.stderr or attempt == _LOCK_RETRIES:
            break
        await asyncio.sleep(0.1)
    raise GitFailed(f"git failed in the workspace ({result.exit_code}): "
                    f"{result.stderr.strip()[-500:]}")


async def _remove_emptied_folders(ws: Workspace, deleted: list[str]) -> None:
    folders = sorted({p.rsplit("/", 1)[0] for p in deleted if "/" in p}, reverse=True)
    if folders:  # the revert took their last file away; a folder with anything in it stays
        await ws.sh('for d; do rmdir -p -- "$d" 2>/dev/null; done; true', *folders)

