"""A zip of the workspace (or a folder of it), streamed: the executor's tar stream read one
member at a time and written out as zip (stream-zip) as it comes; nothing is held whole."""

from __future__ import annotations

import asyncio
import stat
import tarfile
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import UTC, datetime
from typing import IO, Any, Final

from stream_zip import NO_COMPRESSION_32, ZIP_AUTO, stream_zip

from app.tarstream import CHUNK_BYTES, IterReader
from workers.executor._streams import blocking_iter, iterate_blocking
from workers.workspace.files import clean_path
from workers.workspace.space import Workspace

__all__ = ["zip_of"]

_LEVEL: Final = 6  # zlib's default: level 9 costs far more CPU for a few percent
_ZIP_EPOCH: Final = datetime(1980, 1, 2, tzinfo=UTC)  # the earliest time a zip entry can hold

ZipMember = tuple[str, datetime, int, Any, Iterable[bytes]]


async def zip_of(ws: Workspace, path: str = "") -> AsyncIterator[bytes]:
    """The zip of `path` ("" for the whole project), its entries relative to `path`; links
    and special files are left out."""
    tar = ws.executor.get_archive(ws.tenant_id, ws.project_id, clean_path(path))
    first = await anext(aiter(tar))  # NotFound here, before a byte of zip is sent

    async def whole() -> AsyncIterator[bytes]:
        yield first
        async for chunk in tar:
            yield chunk

    zipped = _zip_chunks(blocking_iter(asyncio.get_running_loop(), whole()))
    async for chunk in iterate_blocking(None, zipped):
        yield chunk


def _zip_chunks(tar_chunks: Iterator[bytes]) -> Iterator[bytes]:
    with tarfile.open(fileobj=IterReader(tar_chunks), mode="r|") as tar:
        yield from stream_zip(_members(tar), chunk_size=CHUNK_BYTES)


def _members(tar: tarfile.TarFile) -> Iterator[ZipMember]:
    for member in tar:
        name = member.name.partition("/")[2]  # entries are named from the folder's own name
        if not name:
            continue
        modified = max(datetime.fromtimestamp(member.mtime, UTC), _ZIP_EPOCH)
        if member.isdir():
            yield f"{name}/", modified, stat.S_IFDIR | 0o755, NO_COMPRESSION_32, ()
        elif member.isreg():
            data = tar.extractfile(member)
            assert data is not None
            yield (name, modified, stat.S_IFREG | (member.mode & 0o777),
                   ZIP_AUTO(member.size, level=_LEVEL), _chunks(data))


def _chunks(data: IO[bytes]) -> Iterator[bytes]:
    while chunk := data.read(CHUNK_BYTES):
        yield chunk
