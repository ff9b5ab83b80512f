"""Writing and reading tar streams a chunk at a time (no member is ever held whole), and
the checks every path written into a workspace passes. Shared by the API (uploads) and
the workers (archives of a workspace)."""

from __future__ import annotations

import io
import posixpath
import re
import stat
import tarfile
from collections.abc import Iterable, Iterator
from typing import BinaryIO, Final

from app.errors import BadRequest

__all__ = [
    "CHUNK_BYTES",
    "WX_GID",
    "WX_UID",
    "IterReader",
    "check_entry_path",
    "dir_header",
    "file_chunks",
    "is_executable",
    "parent_dirs",
    "tar_end",
]

CHUNK_BYTES: Final = 256 * 1024
WX_UID: Final = 1000  # the tenant's user in its container (and the owner of its files)
WX_GID: Final = 1000
_BLOCK: Final = tarfile.BLOCKSIZE
_DRIVE: Final = re.compile(r"^[A-Za-z]:")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
_MAX_COMPONENT_BYTES: Final = 255


def check_entry_path(raw: str, *, max_length: int) -> str:
    """The workspace-relative path an archive entry or upload names, normalised
    (backslashes read as separators, `./` and trailing `/` dropped); BadRequest naming
    the entry when it would escape the folder (`..`, absolute, a drive letter), holds
    control characters, or is too long."""
    path = raw.replace("\\", "/")
    if _CONTROL.search(path):
        raise BadRequest(f"entry {raw!r}: control characters in the name", entry=raw)
    if path.startswith("/") or _DRIVE.match(path):
        raise BadRequest(f"entry {raw!r}: an absolute path", entry=raw)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise BadRequest(f"entry {raw!r}: it would escape the workspace", entry=raw)
    if not parts:
        raise BadRequest(f"entry {raw!r}: an empty path", entry=raw)
    clean = "/".join(parts)
    if len(clean.encode("utf-8", "surrogateescape")) > max_length or any(
            len(p.encode("utf-8", "surrogateescape")) > _MAX_COMPONENT_BYTES for p in parts):
        raise BadRequest(f"entry {raw!r}: the path is too long (at most {max_length} bytes)",
                         entry=raw)
    return clean


def _info(name: str, *, kind: bytes, size: int, mode: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.size, info.mode, info.mtime = kind, size, mode, int(mtime)
    info.uid, info.gid, info.uname, info.gname = WX_UID, WX_GID, "wx", "wx"
    return info


def _header(info: tarfile.TarInfo) -> bytes:
    return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


def dir_header(name: str, *, mtime: float, mode: int = 0o755) -> bytes:
    """The tar header of a folder (owned by the tenant's user)."""
    return _header(_info(name, kind=tarfile.DIRTYPE, size=0, mode=mode, mtime=mtime))


def file_chunks(name: str, size: int, reader: BinaryIO | Iterable[bytes], *, mtime: float,
                mode: int = 0o644) -> Iterator[bytes]:
    """One regular file as tar: its header, its bytes in chunks (exactly `size` of them,
    else ValueError), then the padding to a whole block."""
    yield _header(_info(name, kind=tarfile.REGTYPE, size=size, mode=mode, mtime=mtime))
    sent = 0
    pieces = iter(lambda: reader.read(CHUNK_BYTES), b"") if hasattr(reader, "read") else reader
    for piece in pieces:
        sent += len(piece)
        if sent > size:
            raise ValueError(f"{name}: more bytes than its declared size {size}")
        yield piece
    if sent != size:
        raise ValueError(f"{name}: {sent} bytes, declared {size}")
    if size % _BLOCK:
        yield b"\0" * (_BLOCK - size % _BLOCK)


def tar_end() -> bytes:
    """The two zero blocks that end a tar stream."""
    return b"\0" * (2 * _BLOCK)


def is_executable(mode: int) -> bool:
    return bool(mode & stat.S_IXUSR)


def parent_dirs(path: str) -> list[str]:
    """`a/b/c.txt` -> [`a`, `a/b`]."""
    parents = []
    head = posixpath.dirname(path)
    while head:
        parents.append(head)
        head = posixpath.dirname(head)
    return parents[::-1]


class IterReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks (for tarfile's stream mode)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._rest))
        buffer[:size] = self._rest[:size]
        self._rest = self._rest[size:]
        return size
