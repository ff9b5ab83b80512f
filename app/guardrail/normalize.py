"""The input guardrail's normalisation pipeline: one canonical text per view of a message."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from app.guardrail.confusables import skeleton
from app.guardrail.phrases import LEET_PREFIXES

__all__ = ["Views", "canonical", "normalize", "views"]

# Format characters (zero-width, bidi, tags, soft hyphen, ...) and other default-ignorables
# that draw nothing: removed. Blank-looking letters (braille blank, Hangul fillers): spaces.
_CF_RANGES = ((0, 0x10000), (0x11000, 0x14000), (0x1BC00, 0x1BD00), (0x1D100, 0x1D200),
              (0xE0000, 0xE1000))
_IGNORABLE_EXTRA = "\u034f\u17b4\u17b5\u180b-\u180f\ufe00-\ufe0f\U000e0100-\U000e01ef"
_BLANKS = "\u115f\u1160\u2800\u3164\uffa0"
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_SPACES = re.compile(r"\s+")
_TAGS = re.compile("[\U000e0020-\U000e007e]+")

# Markdown emphasis and code marks vanish inside words, snake_case separators become spaces;
# quote, heading and list marks go at the start of a line only ("C#", "a > b" stay).
_MARKS = str.maketrans({"*": None, "`": None, "~": None, "_": " "})
_LINE_MARKS = re.compile(r"(?m)^[ \t]*(?:(?:>|#{1,6}|[-+] )[ \t]*)+")  # quotes, headings, lists
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                       "9": "g", "@": "a", "$": "s"})
_LEET_TOKEN = re.compile(r"(?<![\w@$])(?=[\w@$]*[a-z])[\w@$]*[0-9@$][\w@$]*")
# Single letters split by one separator, the same all along ("i g n o r e", "i.g.n.o.r.e",
# "i_g_n"); another gap (two spaces, " ", " / ") ends the word. Fragments split by hyphens ("ig-no-re", "sys-tem") or
# three or more short ones by dots ("ig.no.re") are glued back.
_SPACED = re.compile(
    r"(?<![^\W_])[^\W_](?P<sep>[ .\-+|_*/])(?:[^\W_](?P=sep)){1,}[^\W_](?![^\W_])"
    r"|(?<![^\W_])[^\W_](?P<sep2>[._*])[^\W_](?![^\W_]|[._*][^\W_])"
)
_FRAGMENTS = re.compile(
    r"(?<![\w.-])[^\W\d_]{1,6}(?:-[^\W\d_]{1,6})+(?![\w-])"
    r"|(?<![\w.-])[^\W\d_]{1,4}(?:\.[^\W\d_]{1,4}){2,}(?![\w.-])"
)

_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}")
_HEX = re.compile(r"(?:\\x[0-9a-fA-F]{2}){6,}|(?:[0-9a-fA-F]{2}[ :]?){8,}")
_MAX_DEPTH = 2
_MAX_BLOBS = 8
_SHORT_LINE = 24


def _ignorable_class() -> str:
    cf = [chr(c) for lo, hi in _CF_RANGES for c in range(lo, hi)
          if unicodedata.category(chr(c)) == "Cf"]
    return "[" + re.escape("".join(cf)) + _IGNORABLE_EXTRA + "]+"


_IGNORABLE = re.compile(_ignorable_class())
_BLANK = re.compile(f"[{_BLANKS}]")


@dataclass(frozen=True)
class Views:
    """The canonical text of a message, and of what hides inside it (decoded blobs, ...)."""

    canonical: str
    extra: tuple[str, ...] = ()

    def all(self) -> tuple[str, ...]:
        return (self.canonical, *self.extra)


def normalize(text: str) -> str:
    """NFKC, invisible characters removed, casefolded, whitespace collapsed and stripped."""
    return _SPACES.sub(" ", _visible(text).casefold()).strip()


def canonical(text: str) -> str:
    """The text the rules and the classifier read: normalised, accents and look-alikes
    folded to ASCII, markdown marks and leetspeak undone, spaced-out letters joined."""
    return _SPACES.sub(" ", _canonical_lines(_visible(text))).strip()


def views(text: str) -> Views:
    """The canonical text plus the views of what it hides: base64 and hex blobs, Unicode tag
    text, a word cut across short lines."""
    visible = _visible(text)
    extra = list(_hidden_texts(text, visible, _MAX_DEPTH))
    if (joined := _lines_joined(visible)) is not None:
        extra.append(_SPACES.sub(" ", _canonical_lines(joined)).strip())
    main = _SPACES.sub(" ", _canonical_lines(visible)).strip()
    return Views(main, tuple(view for view in dict.fromkeys(extra) if view != main))


def _visible(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    return _BLANK.sub(" ", _IGNORABLE.sub("", text))


def _canonical_lines(visible: str) -> str:
    """Every step after the visible text, keeping line breaks (the joined-lines view needs
    them). Look-alikes are mapped before case folding: "Ӏ" reads "l" but "ӏ" reads "i"."""
    if not visible.isascii():
        visible = skeleton(_COMBINING.sub("", unicodedata.normalize("NFD", visible)))
    folded = _SPACED.sub(_join_spaced, _LINE_MARKS.sub("", visible.casefold())).translate(_MARKS)
    if _LEET_TOKEN.search(folded):
        folded = _LEET_TOKEN.sub(_unleet, folded)
    return _FRAGMENTS.sub(_join_fragments, folded)


def _unleet(match: re.Match[str]) -> str:
    token = match.group()
    for candidate in (token.translate(_LEET), token.replace("1", "l").translate(_LEET)):
        if candidate.isalpha() and candidate[:4] in LEET_PREFIXES:
            return candidate
    return token


def _join_spaced(match: re.Match[str]) -> str:
    return match.group().replace(match.group("sep") or match.group("sep2"), "")


def _join_fragments(match: re.Match[str]) -> str:
    return match.group().replace("-", "").replace(".", "")


def _lines_joined(text: str) -> str | None:
    """A word cut across lines ("ign\\nore"): the lines glued, when most of them are short."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 3 or sum(len(line) <= _SHORT_LINE for line in lines) * 5 < len(lines) * 3:
        return None
    return "".join(lines)  # a space before or after a break was a space between words


def _hidden_texts(raw: str, visible: str, depth: int) -> Iterator[str]:
    """Canonical views of the base64, hex and tag-character payloads, `depth` levels deep."""
    if depth == 0:
        return
    for payload in _payloads(raw, visible):
        yield canonical(payload)
        yield from _hidden_texts(payload, _visible(payload), depth - 1)


def _payloads(raw: str, visible: str) -> Iterator[str]:
    if not raw.isascii():
        tags = "".join(chr(ord(ch) - 0xE0000) for ch in "".join(_TAGS.findall(raw)))
        if len(tags) >= 4:
            yield tags
    found = 0
    for blob in _BASE64.findall(visible):
        if (decoded := _decode_base64(blob)) is not None:
            found += 1
            yield decoded
        if found >= _MAX_BLOBS:
            return
    for blob in _HEX.findall(visible):
        if (decoded := _decode_hex(blob)) is not None:
            found += 1
            yield decoded
        if found >= _MAX_BLOBS:
            return


def _decode_base64(blob: str) -> str | None:
    body = blob.rstrip("=")
    if body.isalpha() or body.isdigit():  # a long word or number, not an encoding
        return None
    altchars = b"-_" if ("-" in body or "_" in body) else None
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _printable(data)


def _decode_hex(blob: str) -> str | None:
    digits = re.sub(r"\\x|[ :]", "", blob)
    if len(digits) % 2:
        digits = digits[:-1]
    try:
        return _printable(bytes.fromhex(digits))
    except ValueError:
        return None


def _printable(data: bytes) -> str | None:
    """The bytes as text when they read as text (a message), else None (a key, an image)."""
    try:
        text = _visible(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None
    shown = sum(ch.isprintable() or ch in "\n\t" for ch in text)
    letters = sum(ch.isalpha() for ch in text)
    return text if len(text) >= 4 and shown >= 0.95 * len(text) and letters >= len(text) / 2 \
        else None
