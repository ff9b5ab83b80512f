"""Bytes of a workspace file as text for display: the file itself is never re-encoded."""

from __future__ import annotations

from typing import Final

import charset_normalizer

__all__ = ["decode_for_display", "looks_binary"]

_SNIFF_BYTES: Final = 8192
# WinDev/WebDev sources are mostly Windows-1252 (else UTF-8 or UTF-16): tried first, since
# an open guess takes Portuguese cp1252 text for cp1250 (`ação` shown as `açăo`).
_LIKELY: Final = ["utf_8", "cp1252", "utf_16", "utf_32"]


def looks_binary(data: bytes) -> bool:
    """Binary as git decides it: a NUL byte in the first 8 KiB (UTF-16 text has a BOM)."""
    head = data[:_SNIFF_BYTES]
    return b"\0" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff"))


def decode_for_display(data: bytes, *, cut: bool = False) -> tuple[str, str]:
    """(text, encoding) of `data`; `cut`: it may end in the middle of a character."""
    if not data:
        return "", "utf_8"
    for trim in range(4 if cut else 1):
        try:
            return data[:len(data) - trim].decode("utf-8"), "utf_8"
        except UnicodeDecodeError:
            continue
    best = (charset_normalizer.from_bytes(data, cp_isolation=_LIKELY).best()
            or charset_normalizer.from_bytes(data).best())
    if best is not None:
        return str(best), best.encoding
    return data.decode("cp1252", errors="replace"), "cp1252"
