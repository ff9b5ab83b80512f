"""Listing and reading a workspace's files through its executor (one short command each).

A path is resolved inside the sandbox and must stay in the project's folder: a link that
points out of it (to the config dir and its credentials, another project) is not followed."""

from __future__ import annotations

import stat
from typing import Final, Literal

from app.errors import BadRequest, NotFound
from app.tarstream import check_entry_path
from app.workspace import FileContent, FileEntry, FileTree
from workers.workspace.space import Workspace
from workers.workspace.text import decode_for_display, looks_binary

__all__ = ["clean_path", "list_tree", "read_file"]

_MAX_PATH: Final = 4096
# $1 folder ("" = the project's), $2 entries at most (+1, to tell a cut): mode, size, name.
_LIST: Final = r"""
p=${1:-.}
[ -e "$p" ] || exit 3
w=$(readlink -f .) && r=$(readlink -f -- "$p") || exit 3
case "$r" in "$w"|"$w"/*) ;; *) exit 4;; esac
[ -d "$r" ] || exit 5
cd "$r" && find . -mindepth 1 -exec stat -c '%f %s %n' -- {} + | head -n "$2"
"""
# $1 file, $2 bytes at most: its size on a line, then its first bytes.
_READ: Final = r"""
[ -e "$1" ] || exit 3
w=$(readlink -f .) && r=$(readlink -f -- "$1") || exit 3
case "$r" in "$w"/*) ;; *) exit 4;; esac
[ -f "$r" ] || exit 5
stat -c %s -- "$r" && head -c "$2" -- "$r"
"""
_MISSING, _OUTSIDE, _WRONG_KIND = 3, 4, 5


def clean_path(path: str) -> str:
    """A request's path, relative to the project's folder ("" for the folder itself)."""
    return "" if path.strip("/") in ("", ".") else check_entry_path(path, max_length=_MAX_PATH)


async def list_tree(ws: Workspace, path: str, *, max_entries: int) -> FileTree:
    """Every file and folder below `path`, by path, with sizes."""
    folder = clean_path(path)
    result = await ws.sh(_LIST, folder, str(max_entries + 1), max_output=max_entries * 600)
    _check(result.exit_code, result.stderr, wrong_kind="not a folder")
    prefix = f"{folder}/" if folder else ""
    entries = [entry for line in result.stdout.split(b"\n")
               if (entry := _entry(line, prefix)) is not None]
    truncated = len(entries) > max_entries or result.truncated
    entries = sorted(entries[:max_entries], key=lambda e: e.path)
    return FileTree(path=folder, entries=entries, truncated=truncated)


async def read_file(ws: Workspace, path: str, *, max_bytes: int) -> FileContent:
    """A file's first `max_bytes`, as text for display unless it is binary."""
    name = clean_path(path)
    if not name:
        raise BadRequest("a file path is needed")
    result = await ws.sh(_READ, name, str(max_bytes), max_output=max_bytes + 64)
    _check(result.exit_code, result.stderr, wrong_kind="not a file")
    size_line, _, data = result.stdout.partition(b"\n")
    size = int(size_line)
    truncated = size > len(data)
    if looks_binary(data):
        return FileContent(path=name, size=size, binary=True, truncated=truncated)
    text, encoding = decode_for_display(data, cut=truncated)
    return FileContent(path=name, size=size, binary=False, encoding=encoding, content=text,
                       truncated=truncated)


def _check(code: int, stderr: str, *, wrong_kind: str) -> None:
    if code in (_MISSING, _OUTSIDE):
        raise NotFound("Path")
    if code == _WRONG_KIND:
        raise BadRequest(f"the path is {wrong_kind}")
    if code != 0:
        raise BadRequest(f"cannot read the workspace: {stderr.strip()[-300:]}")


def _entry(line: bytes, prefix: str) -> FileEntry | None:
    parts = line.split(b" ", 2)
    if len(parts) != 3 or not parts[2].startswith(b"./"):
        return None
    try:
        mode, size = int(parts[0], 16), int(parts[1])
    except ValueError:
        return None
    name = parts[2][2:].decode("utf-8", "replace")
    return FileEntry(path=prefix + name, kind=_kind(mode), size=size if stat.S_ISREG(mode) else 0)


def _kind(mode: int) -> Literal["file", "dir", "link", "other"]:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "dir"
    return "link" if stat.S_ISLNK(mode) else "other"
