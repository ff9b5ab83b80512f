"""NDJSON framing of a byte stream with a line cap, and a bounded stderr tail."""

from __future__ import annotations

__all__ = ["LineFramer", "StderrTail"]

STDERR_TAIL_BYTES = 64 * 1024


class LineFramer:
    """Cut chunks into lines; a line longer than `max_line_bytes` is dropped and counted."""

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self.dropped = 0
        self._buf = bytearray()
        self._skipping = False  # inside an over-long line: discard up to its newline

    def feed(self, chunk: bytes) -> list[bytes]:
        """The complete, non-empty lines `chunk` finishes (without their newline)."""
        lines: list[bytes] = []
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            self._take(chunk, start, end, lines)
            start = end + 1
        self._keep(chunk, start)
        return lines

    def finish(self) -> bytes | None:
        """The unterminated last line at EOF, if any."""
        line = bytes(self._buf) if not self._skipping else b""
        self._buf.clear()
        self._skipping = False
        return line.rstrip(b"\r") or None

    def _take(self, chunk: bytes, start: int, end: int, lines: list[bytes]) -> None:
        if self._skipping:
            self._skipping = False
        elif len(self._buf) + end - start > self.max_line_bytes:
            self.dropped += 1
        else:
            self._buf += chunk[start:end]
            line = bytes(self._buf).rstrip(b"\r")
            if line:
                lines.append(line)
        self._buf.clear()

    def _keep(self, chunk: bytes, start: int) -> None:
        if self._skipping or start >= len(chunk):
            return
        if len(self._buf) + len(chunk) - start > self.max_line_bytes:
            self._buf.clear()
            self._skipping = True
            self.dropped += 1
        else:
            self._buf += chunk[start:]


class StderrTail:
    """Keep only the last `limit` bytes of stderr (never let the pipe fill up)."""

    def __init__(self, limit: int = STDERR_TAIL_BYTES) -> None:
        self.limit = limit
        self._buf = bytearray()

    def add(self, chunk: bytes) -> None:
        self._buf += chunk
        if len(self._buf) > 2 * self.limit:
            del self._buf[: len(self._buf) - self.limit]

    def text(self) -> str:
        return bytes(self._buf[-self.limit :]).decode("utf-8", "replace")
