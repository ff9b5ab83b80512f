"""An uploaded archive (zip, tar, tar.gz) or single file, checked whole before anything is
written, then sent on as one plain tar stream of folders and regular files owned by the
tenant's user (the only kind of tar the workers extract).

Refused, with a `bad_request` naming the entry: paths that would escape the workspace
(`../`, absolute, `C:`, a backslash `..\\`), links (symbolic and hard), devices and other
special files, encrypted zip entries, duplicates, and anything past the limits (total size,
file count, path length). Every byte is read once in the check (a corrupt or lying entry is
found there, not halfway through the write), and file contents are kept as they are
(WinDev sources are often Windows-1252)."""

from __future__ import annotations

import stat
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final, Literal

from app.errors import BadRequest
from app.tarstream import (
    CHUNK_BYTES,
    check_entry_path,
    dir_header,
    file_chunks,
    is_executable,
    parent_dirs,
    tar_end,
)

__all__ = ["UploadKind", "UploadLimits", "UploadPlan", "kind_of", "plan_upload"]

UploadKind = Literal["zip", "tar", "file"]
_TAR_SUFFIXES: Final = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz")
_ZIP_UTF8: Final = 0x800
_ZIP_ENCRYPTED: Final = 0x1
_UNIX: Final = 3


@dataclass(frozen=True)
class UploadLimits:
    max_unpacked_bytes: int
    max_files: int
    max_path_length: int


@dataclass
class _Entry:
    path: str
    is_dir: bool
    size: int = 0
    mode: int = 0o644
    mtime: float = 0.0
    source: str = ""  # the entry's name in the archive


@dataclass
class UploadPlan:
    """What an upload will write: checked entries, in archive order."""

    kind: UploadKind
    source: Path
    entries: list[_Entry] = field(default_factory=list)

    @property
    def files(self) -> int:
        return sum(1 for e in self.entries if not e.is_dir)

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.entries)

    def tar_chunks(self) -> Iterator[bytes]:
        """The plain tar stream: each folder (parents first), then each file's bytes."""
        made: set[str] = set()
        readers = {"zip": self._zip_data, "tar": self._tar_data, "file": self._file_data}
        for entry, data in readers[self.kind]():
            for folder in [*parent_dirs(entry.path), *([entry.path] if entry.is_dir else [])]:
                if folder not in made:
                    made.add(folder)
                    yield dir_header(folder, mtime=entry.mtime or time.time())
            if data is not None:
                yield from file_chunks(entry.path, entry.size, data, mtime=entry.mtime,
                                       mode=0o755 if is_executable(entry.mode) else 0o644)
        yield tar_end()

    def _zip_data(self) -> Iterator[tuple[_Entry, IO[bytes] | None]]:
        with zipfile.ZipFile(self.source) as archive:
            for entry in self.entries:
                if entry.is_dir:
                    yield entry, None
                else:
                    with archive.open(entry.source) as data:
                        yield entry, data

    def _tar_data(self) -> Iterator[tuple[_Entry, IO[bytes] | None]]:
        wanted = iter(self.entries)
        with tarfile.open(self.source, mode="r|*") as archive:
            for member in archive:
                entry = next(wanted)
                yield entry, None if entry.is_dir else archive.extractfile(member)

    def _file_data(self) -> Iterator[tuple[_Entry, IO[bytes] | None]]:
        with self.source.open("rb") as data:
            yield self.entries[0], data


def kind_of(filename: str) -> UploadKind:
    """Which kind of upload a file name says it is."""
    lower = filename.lower()
    if lower.endswith(".zip"):
        return "zip"
    return "tar" if lower.endswith(_TAR_SUFFIXES) else "file"


def plan_upload(
    source: Path, *, filename: str, target: str | None, limits: UploadLimits
) -> UploadPlan:
    """Check the upload at `source` entirely (every entry, every byte); the plan, or
    BadRequest naming the first entry refused. `target`: the path of a single file, or the
    folder an archive goes into (None: the file's name, or the project's folder)."""
    kind = kind_of(filename)
    folder = ""
    if target and kind != "file":
        folder = check_entry_path(target, max_length=limits.max_path_length)
    plan = UploadPlan(kind=kind, source=source)
    checker = _Checker(limits, plan, folder)
    if kind == "zip":
        _check_zip(source, checker)
    elif kind == "tar":
        _check_tar(source, checker)
    else:
        checker.add(target or filename, is_dir=False, size=source.stat().st_size,
                    mtime=time.time(), data=None)
    if not plan.entries:
        raise BadRequest("The archive is empty.")
    return plan


class _Checker:
    def __init__(self, limits: UploadLimits, plan: UploadPlan, folder: str) -> None:
        self.limits, self.plan, self.folder = limits, plan, folder
        self._seen: dict[str, bool] = {}  # path -> is a folder
        self._total = 0
        self._files = 0

    def add(self, raw: str, *, is_dir: bool, size: int, mtime: float, data: IO[bytes] | None,
            mode: int = 0o644) -> None:
        clean = check_entry_path(raw, max_length=self.limits.max_path_length)
        path = f"{self.folder}/{clean}" if self.folder else clean
        if len(path.encode("utf-8", "surrogateescape")) > self.limits.max_path_length:
            raise BadRequest(f"entry {raw!r}: the path is too long", entry=raw)
        self._claim(raw, path, is_dir)
        if not is_dir:
            size = self._measure(raw, size, data)
            self._files += 1
            if self._files > self.limits.max_files:
                raise BadRequest(f"More than {self.limits.max_files} files in the upload.",
                                 limit="files")
        self.plan.entries.append(_Entry(path=path, is_dir=is_dir, size=size, mode=mode,
                                        mtime=mtime, source=raw))

    def _claim(self, raw: str, path: str, is_dir: bool) -> None:
        if path in self._seen:
            if is_dir and self._seen[path]:
                return
            raise BadRequest(f"entry {raw!r}: the path appears twice", entry=raw)
        for parent in parent_dirs(path):
            if self._seen.get(parent) is False:
                raise BadRequest(f"entry {raw!r}: {parent!r} is a file", entry=raw)
            self._seen.setdefault(parent, True)
        self._seen[path] = is_dir

    def _measure(self, raw: str, declared: int, data: IO[bytes] | None) -> int:
        """Read the entry's bytes (a lying size or a bad checksum shows here); its size."""
        size = 0
        if data is None:
            size = declared
        else:
            while chunk := data.read(CHUNK_BYTES):
                size += len(chunk)
                if self._total + size > self.limits.max_unpacked_bytes:
                    break
        self._total += size
        if self._total > self.limits.max_unpacked_bytes:
            raise BadRequest(f"The upload unpacks to more than {self.limits.max_unpacked_bytes} "
                             "bytes.", limit="unpacked_bytes")
        return size


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry's name: UTF-8 when flagged; else the raw bytes (zipfile read them as cp437)
    as UTF-8 when they are, else as cp437 (what Windows' zip writes them in)."""
    if info.flag_bits & _ZIP_UTF8:
        return info.filename
    raw = info.filename.encode("cp437")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return info.filename


def _check_zip(source: Path, checker: _Checker) -> None:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BadRequest(f"Not a readable zip archive: {exc}") from exc
    with archive:
        if len(archive.infolist()) > 2 * checker.limits.max_files:
            raise BadRequest(f"More than {checker.limits.max_files} files in the upload.",
                             limit="files")
        for info in archive.infolist():
            name = _zip_name(info)
            mode = info.external_attr >> 16 if info.create_system == _UNIX else 0
            _refuse_special(name, mode)
            if info.flag_bits & _ZIP_ENCRYPTED:
                raise BadRequest(f"entry {name!r}: encrypted", entry=name)
            mtime = time.mktime((*info.date_time, 0, 0, -1))
            if info.is_dir():
                checker.add(name, is_dir=True, size=0, mtime=mtime, data=None)
                continue
            try:
                with archive.open(info) as data:
                    checker.add(name, is_dir=False, size=info.file_size, mtime=mtime, data=data,
                                mode=mode or 0o644)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
                raise BadRequest(f"entry {name!r}: cannot be read ({exc})", entry=name) from exc
            checker.plan.entries[-1].source = info.filename


def _check_tar(source: Path, checker: _Checker) -> None:
    try:
        with tarfile.open(source, mode="r|*") as archive:
            for member in archive:
                if member.issym() or member.islnk():
                    raise BadRequest(f"entry {member.name!r}: a link "
                                     f"({'symbolic' if member.issym() else 'hard'})",
                                     entry=member.name)
                _refuse_special(member.name, _tar_mode(member))
                if member.isdir():
                    checker.add(member.name, is_dir=True, size=0, mtime=member.mtime, data=None)
                else:
                    checker.add(member.name, is_dir=False, size=member.size, mtime=member.mtime,
                                data=archive.extractfile(member), mode=member.mode)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BadRequest(f"The tar archive cannot be read: {exc}") from exc


def _tar_mode(member: tarfile.TarInfo) -> int:
    if member.isreg():
        return stat.S_IFREG
    if member.isdir():
        return stat.S_IFDIR
    if member.ischr():
        return stat.S_IFCHR
    if member.isblk():
        return stat.S_IFBLK
    if member.isfifo():
        return stat.S_IFIFO
    return stat.S_IFSOCK  # anything else tar can hold is refused as special


def _refuse_special(name: str, mode: int) -> None:
    kind = stat.S_IFMT(mode)  # 0: the archive gives permission bits only (zipfile does)
    if kind in (0, stat.S_IFREG, stat.S_IFDIR):
        return
    what = "a symbolic link" if stat.S_ISLNK(mode) else "a device or special file"
    raise BadRequest(f"entry {name!r}: {what}", entry=name)
