"""Receiving a multipart upload (field `file`, optional field `path`) straight to a spool
file on disk, a chunk at a time, refused as soon as it passes the size limit."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Final

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from app.errors import BadRequest

__all__ = ["ReceivedUpload", "in_thread", "receive_upload"]

_FIELD_MAX: Final = 4096
_ENVELOPE: Final = 64 * 1024  # multipart headers and boundaries around the file's bytes


@dataclass
class ReceivedUpload:
    path: Path
    filename: str = ""
    target: str | None = None  # the `path` field
    size: int = 0


@dataclass
class _Part:
    headers: dict[bytes, bytes] = field(default_factory=dict)
    field_name: bytes = b""
    value: bytearray = field(default_factory=bytearray)
    is_file: bool = False


class _Receiver:
    """The parser's callbacks: the file's bytes to `out`, small fields kept."""

    def __init__(self, out: IO[bytes], upload: ReceivedUpload, max_bytes: int) -> None:
        self.out, self.upload, self.max_bytes = out, upload, max_bytes
        self.part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self.files = 0

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self._begin, "on_header_field": self._field,
            "on_header_value": self._value, "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done, "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self.part = _Part()

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self.part.headers[bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _headers_done(self) -> None:
        _, params = parse_options_header(self.part.headers.get(b"content-disposition", b""))
        self.part.field_name = params.get(b"name", b"")
        if self.part.field_name == b"file":
            self.files += 1
            if self.files > 1:
                raise BadRequest("Send one `file` per upload.")
            self.part.is_file = True
            raw = params.get(b"filename", b"")
            self.upload.filename = raw.decode("utf-8", "replace").replace("\\", "/")
            self.upload.filename = self.upload.filename.rsplit("/", 1)[-1]

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self.part.is_file:
            self.upload.size += end - start
            if self.upload.size > self.max_bytes:
                raise BadRequest(f"The upload is larger than {self.max_bytes} bytes.",
                                 limit="upload_bytes")
            self.out.write(data[start:end])
        elif self.part.field_name == b"path":
            self.part.value += data[start:end]
            if len(self.part.value) > _FIELD_MAX:
                raise BadRequest("The `path` field is too long.")

    def _end(self) -> None:
        if self.part.field_name == b"path":
            self.upload.target = self.part.value.decode("utf-8", "replace").strip() or None


@contextlib.asynccontextmanager
async def receive_upload(request: Request, *, spool_dir: Path,
                         max_bytes: int) -> AsyncIterator[ReceivedUpload]:
    """The request's upload, spooled under `spool_dir`; removed on leaving the block."""
    ctype, params = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise BadRequest("Send the upload as multipart/form-data with a `file` field.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes + _ENVELOPE:
        raise BadRequest(f"The upload is larger than {max_bytes} bytes.", limit="upload_bytes")
    spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=spool_dir, prefix="upload-")
    upload = ReceivedUpload(path=Path(name))
    try:
        with os.fdopen(fd, "wb") as out:
            receiver = _Receiver(out, upload, max_bytes)
            parser = MultipartParser(params[b"boundary"], receiver.callbacks())  # type: ignore[arg-type]
            try:
                async for chunk in request.stream():
                    parser.write(chunk)
                parser.finalize()
            except MultipartParseError as exc:
                raise BadRequest(f"A malformed multipart body: {exc}") from exc
        if receiver.files == 0 or not upload.filename:
            raise BadRequest("The upload has no `file` field (with a file name).")
        yield upload
    finally:
        upload.path.unlink(missing_ok=True)


async def in_thread(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """A blocking iterator (file and zip reads) pulled on a thread, a chunk at a time."""
    done = object()
    while (chunk := await asyncio.to_thread(next, chunks, done)) is not done:
        yield chunk  # type: ignore[misc]
