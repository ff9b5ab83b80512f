"""The input guardrail's normalisation pipeline: one canonical text per view of a message."""

from __future__ import annotations

import base64
import binascii
import itertools
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from app.guardrail.confusables import char_ranges, has_astral, skeleton
from app.guardrail.phrases import LEET_PREFIXES

__all__ = ["Views", "canonical", "normalize", "views"]

# Format characters (zero-width, bidi, tags, soft hyphen, ...) and other default-ignorables
# that draw nothing: removed. Blank-looking letters (braille blank, Hangul fillers): spaces.
_IGNORABLE_EXTRA = "\u034f\u17b4\u17b5\u180b-\u180f\ufe00-\ufe0f"
_IGNORABLE_ASTRAL_EXTRA = "\U000e0100-\U000e01ef"
_BLANKS = "\u115f\u1160\u2800\u3164\uffa0"
_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")
_TAGS = re.compile("[\U000e0020-\U000e007e]+")

# Markdown emphasis and code marks vanish inside words ("~" stays: "~/.claude"), snake_case
# separators become spaces; quote, heading and list marks go at the start of a line only
# ("C#", "a > b" stay).
_MARKS = (("*", ""), ("`", ""), ("_", " "))
_LINE_MARKS = re.compile(r"(?m)^[ \t]*(?:(?:>|#{1,6}|[-+] )[ \t]*)+")  # quotes, headings, lists
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
                       "9": "g", "@": "a", "$": "s"})
_LEET_TOKEN = re.compile(r"[\w@$]+")
# The passes below read every position of the text; each runs only when a hint, a pattern that
# starts with a literal separator (which `re` finds at memchr speed), is in the text.
_LEET_HINT = re.compile(r"[0-9@$](?<=[a-z][0-9@$])|[0-9@$](?=[a-z])")
# Single letters split by one separator, the same all along ("i g n o r e", "i.g.n.o.r.e",
# "i_g_n"); another gap (two spaces, " ", " / ") ends the word.
_SPACED = re.compile(
    r"\b[^\W_](?P<sep>[ .\-+|_*/])(?:[^\W_](?P=sep))+[^\W_]\b"
    r"|\b[^\W_](?P<sep2>[._*])[^\W_]\b(?![._*][^\W_])"
)
_SPACED_HINT = re.compile(
    r"[ .\-+|_*/](?<=\b[^\W_][ .\-+|_*/])[^\W_][ .\-+|_*/][^\W_](?:\b|[ .\-+|_*/])"  # x y z
    r"|[._*](?<=\b[^\W_][._*])[^\W_](?:\b|[._*])"  # "r_m", "e.g"
)
# Fragments split by hyphens ("ig-no-re", "sys-tem") are glued back.
_FRAGMENTS = re.compile(r"\b(?<![.-])[^\W\d_]{1,6}(?:-[^\W\d_]{1,6})+\b(?!-)")
_FRAGMENT_HINT = re.compile(r"-(?<=[^\W\d_]-)(?=[^\W\d_])")
_FRAGMENT_TOKEN = re.compile(r"[\w.-]+")

# Encoded blobs: base64 (hex digits are a subset of its alphabet) and \x escapes.
_BLOB = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")
_HEX_DIGITS = re.compile(r"(?:[0-9a-fA-F]{2})+")
_ESCAPED_HEX = re.compile(r"\\x[0-9a-fA-F]{2}(?:\\x[0-9a-fA-F]{2}){5,}")
_WRAP_MAX = 40
_MAX_DEPTH = 2
_MAX_BLOBS = 8


def _ignorable_class(lo: int, hi: int, extra: str) -> re.Pattern[str]:
    cf = [c for c in range(lo, hi) if unicodedata.category(chr(c)) == "Cf"]
    return re.compile("[" + char_ranges(cf) + extra + "]+")


# Two classes: `re` looks a character up in a bitmap only when all of them are in the BMP.
_IGNORABLE = _ignorable_class(0, 0x10000, _IGNORABLE_EXTRA)
_IGNORABLE_ASTRAL = _ignorable_class(0x10000, 0xE1000, _IGNORABLE_ASTRAL_EXTRA)
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
    return _collapse(_visible(text).casefold())


def canonical(text: str) -> str:
    """The text the rules and the classifier read: normalised, accents and look-alikes
    folded to ASCII, markdown marks and leetspeak undone, spaced-out letters joined."""
    return _collapse(_canonical_lines(_visible(text)))


def views(text: str) -> Views:
    """The canonical text plus the views of what it hides: base64 and hex blobs, Unicode tag
    text, a word cut across short lines."""
    visible = _visible(text)
    extra = list(_hidden_texts(text, visible, _MAX_DEPTH))
    if (joined := _lines_joined(visible)) is not None:
        extra.append(_collapse(_canonical_lines(joined)))
    main = _collapse(_canonical_lines(visible))
    return Views(main, tuple(view for view in dict.fromkeys(extra) if view != main))


def _latin1(text: str) -> bool:
    """Whether every character is Latin-1 but not all are ASCII."""
    if text.isascii():
        return False
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _visible(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    if text.isascii():
        return text
    if _latin1(text):  # Portuguese, Spanish: only the soft hyphen can hide there
        return text.replace("\u00ad", "")
    text = _IGNORABLE.sub("", text)
    if has_astral(text):
        text = _IGNORABLE_ASTRAL.sub("", text)
    return _BLANK.sub(" ", text)


def _canonical_lines(visible: str) -> str:
    """Every step after the visible text, keeping line breaks (the joined-lines view needs
    them). Look-alikes are mapped before case folding: "Ӏ" reads "l" but "ӏ" reads "i"."""
    if _latin1(visible):  # accents dropped; Latin-1 holds no look-alike of another letter
        visible = unicodedata.normalize("NFD", visible).encode("ascii", "ignore").decode()
    elif not visible.isascii():
        visible = skeleton(_COMBINING.sub("", unicodedata.normalize("NFD", visible)))
    folded = visible.casefold()
    if ">" in folded or "#" in folded or "- " in folded or "+ " in folded:
        folded = _LINE_MARKS.sub("", folded)
    if _SPACED_HINT.search(folded):
        folded = _SPACED.sub(_join_spaced, folded)
    folded = _unmark(folded)
    if hints := [m.start() for m in _LEET_HINT.finditer(folded)]:
        folded = _unleet(folded, hints)
    if hints := [m.start() for m in _FRAGMENT_HINT.finditer(folded)]:
        folded = _at_hints(folded, hints, _FRAGMENT_TOKEN, _glued)
    return folded


def _unmark(text: str) -> str:
    for mark, replacement in _MARKS:  # str.replace: translate is slow on non-ASCII text
        if mark in text:
            text = text.replace(mark, replacement)
    return text


def _unleet(text: str, hints: list[int]) -> str:
    """Leetspeak undone where it spells a word of the rules ("1gn0r3"; "utf8", "x1" stay)."""
    return _at_hints(text, hints, _LEET_TOKEN, _spelled)


def _at_hints(text: str, hints: list[int], token: re.Pattern[str],
              rewrite: Callable[[str], str]) -> str:
    """The text with each token that holds a hint position rewritten (the rest untouched)."""
    pieces: list[str] = []
    done = 0
    for hint in hints:
        if hint < done:
            continue
        found = token.search(text, max(done, text.rfind(" ", 0, hint) + 1, hint - 64))
        if found is None or found.start() > hint:
            continue
        pieces += (text[done : found.start()], rewrite(found.group()))
        done = found.end()
    return "".join(pieces) + text[done:]


def _glued(token: str) -> str:
    return _FRAGMENTS.sub(_join_fragments, token)


def _spelled(token: str) -> str:
    for candidate in (token.translate(_LEET), token.replace("1", "l").translate(_LEET)):
        if candidate.isalpha() and candidate[:4] in LEET_PREFIXES:
            return candidate
    return token


def _join_spaced(match: re.Match[str]) -> str:
    return match.group().replace(match.group("sep") or match.group("sep2"), "")


def _join_fragments(match: re.Match[str]) -> str:
    return match.group().replace("-", "")


def _lines_joined(text: str) -> str | None:
    """A text hard-wrapped at a fixed width, words cut across lines ("ign\\nore"): the lines
    glued. Every line but the last is as long as the first (a wrapped text, not code)."""
    if text.count("\n") < 2:
        return None
    lines = text.split("\n")
    width = len(lines[0])
    if width > _WRAP_MAX or any(abs(len(line) - width) > 1 for line in lines[1:-1]):
        return None
    cuts = sum(a[-1:].isalpha() and b[:1].isalpha() for a, b in itertools.pairwise(lines))
    if cuts * 2 < len(lines) - 1:  # most breaks of a wrapped text fall inside a word
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
    blobs = _BLOB.findall(visible)
    if "\\x" in visible:
        blobs += _ESCAPED_HEX.findall(visible)
    found = 0
    for blob in blobs:
        decoded = _decode_hex(blob) if _HEX_DIGITS.fullmatch(blob.replace("\\x", "")) \
            else _decode_base64(blob)
        if decoded is None:
            continue
        found += 1
        yield decoded
        if found >= _MAX_BLOBS:
            return


def _decode_base64(blob: str) -> str | None:
    body = blob.rstrip("=")
    if body.isalpha() or body.isdigit():  # a long word or number, not an encoding
        return None
    if ("-" in body or "_" in body) and ("+" in body or "/" in body):
        return None
    altchars = b"-_" if ("-" in body or "_" in body) else None
    try:
        data = base64.b64decode(body + "=" * (-len(body) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        return None
    return _printable(data)


def _decode_hex(blob: str) -> str | None:
    digits = blob.replace("\\x", "")
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
