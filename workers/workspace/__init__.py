"""A project's workspace through its executor: files, a zip of them, and its git history
(the runner commits each turn; diffs and reverts come from there)."""

from __future__ import annotations

from workers.workspace.archive import zip_of
from workers.workspace.files import list_tree, read_file
from workers.workspace.repo import (
    GitFailed,
    changes_of,
    commit_turn,
    files_changed_frame,
    revert_to_before,
    snapshot,
)
from workers.workspace.space import Workspace
from workers.workspace.text import decode_for_display, looks_binary

__all__ = [
    "GitFailed",
    "Workspace",
    "changes_of",
    "commit_turn",
    "decode_for_display",
    "files_changed_frame",
    "list_tree",
    "looks_binary",
    "read_file",
    "revert_to_before",
    "snapshot",
    "zip_of",
]
