"""A project's workspace as the API shows it (DESIGN §12): the records the workers' workspace
service answers with and the REST routes return, and the operations it serves."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from app.protocol import ChangedFile

__all__ = [
    "ChangedFile",
    "FileContent",
    "FileDiff",
    "FileEntry",
    "FileTree",
    "RevertResult",
    "TurnChanges",
    "UploadResult",
    "WorkspaceOp",
]


class WorkspaceOp(StrEnum):
    """What the workspace service on a tenant's worker host does (app/services/workspace_rpc.py)."""

    LIST = "list"
    READ = "read"
    ARCHIVE = "archive"  # a zip of the workspace or a folder, streamed
    UPLOAD = "upload"  # a checked tar stream in, committed
    CHANGES = "changes"
    REVERT = "revert"


class FileEntry(BaseModel):
    path: str = Field(description="relative to the project's folder, `/`-separated")
    kind: Literal["file", "dir", "link", "other"]
    size: int = Field(description="bytes (0 for a folder)")


class FileTree(BaseModel):
    path: str = Field(description="the folder listed (`` for the project's own)")
    entries: list[FileEntry] = Field(description="every file and folder below it, by path")
    truncated: bool = Field(default=False, description="more entries than the limit")


class FileContent(BaseModel):
    path: str
    size: int
    binary: bool = Field(description="not text (a NUL byte in its first 8 KiB)")
    encoding: str | None = Field(default=None, description="the encoding the text was "
                                 "decoded from (the file's bytes are kept as they are)")
    content: str | None = Field(default=None, description="the text, for display; None when "
                                "binary")
    truncated: bool = Field(default=False, description="only the first bytes are shown")


class FileDiff(ChangedFile):
    binary: bool = False
    diff: str = Field(default="", description="the unified diff (git), size-limited")
    diff_truncated: bool = False


class TurnChanges(BaseModel):
    job_id: str
    commit: str | None = Field(description="the runner's commit after the turn (None: none, "
                               "e.g. a turn that never started)")
    parent: str | None = Field(default=None, description="the workspace before the turn")
    files: list[FileDiff] = Field(default_factory=list)
    truncated: bool = Field(default=False, description="diffs past the size limit left out")


class RevertResult(BaseModel):
    job_id: str
    commit: str = Field(description="the new commit: the workspace as before the turn")
    restored: str = Field(description="the commit restored (the turn's parent)")
    files: list[ChangedFile] = Field(description="what the revert changed")


class UploadResult(BaseModel):
    files: int
    bytes: int
    commit: str | None = Field(default=None, description="the runner's commit of the upload")
