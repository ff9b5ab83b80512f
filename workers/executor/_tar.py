"""A tar stream checked entry by entry on its way into a sandbox: folders and regular files
with paths inside the target only, written out again with the tenant's user as owner."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator

from app.errors import BadRequest
from app.tarstream import IterReader, check_entry_path, dir_header, file_chunks, tar_end

__all__ = ["checked_tar"]

_MAX_PATH = 4096


def checked_tar(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """`chunks` (a tar stream) again, entry by entry; BadRequest at the first entry that is
    not a folder or a regular file inside the target (the entries before it are sent)."""
    with tarfile.open(fileobj=IterReader(chunks), mode="r|") as tar:
        for member in tar:
            if not (member.isreg() or member.isdir()):
                raise BadRequest(f"entry {member.name!r}: not a file or a folder",
                                 entry=member.name)
            name = check_entry_path(member.name, max_length=_MAX_PATH)
            if member.isdir():
                yield dir_header(name, mtime=member.mtime, mode=member.mode & 0o755)
                continue
            data = tar.extractfile(member)
            assert data is not None
            yield from file_chunks(name, member.size, data, mtime=member.mtime,
                                   mode=member.mode & 0o755)
    yield tar_end()
