"""Look-alike letters (Unicode TR39 confusables, from `confusable-homoglyphs`) mapped to the
ASCII letter they imitate: Cyrillic "а", Greek "ο", small capitals, ..."""

from __future__ import annotations

import re
import string
from functools import lru_cache

__all__ = ["char_ranges", "has_astral", "skeleton"]

_DIRECTION_MARKS = "\u200e\u200f"


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def skeleton(text: str) -> str:
    """The text with every non-ASCII look-alike of a letter replaced by that letter."""
    bmp, astral, table = _table()
    text = bmp.sub(lambda match: table[match.group()], text)
    if has_astral(text):
        text = astral.sub(lambda match: table[match.group()], text)
    return text


def has_astral(text: str) -> bool:
    """Whether a character lies beyond the BMP (emoji, tags, mathematical letters)."""
    return _ASTRAL.search(text) is not None


def char_ranges(codepoints: list[int]) -> str:
    """The body of a regex character class holding these code points, as ranges: `re` scans a
    class of a few ranges fast, one of thousands of single characters slowly."""
    parts, points = [], sorted(set(codepoints))
    start = previous = points[0] if points else 0
    for point in [*points[1:], -1]:
        if point == previous + 1:
            previous = point
            continue
        parts.append(re.escape(chr(start)) if start == previous
                     else f"{re.escape(chr(start))}-{re.escape(chr(previous))}")
        start = previous = point
    return "".join(parts) if points else "\x00"


@lru_cache(maxsize=1)
def _table() -> tuple[re.Pattern[str], re.Pattern[str], dict[str, str]]:
    # The package loads its JSON data on import (~20 ms): only the first check pays for it.
    from confusable_homoglyphs.confusables import confusables_data

    table: dict[str, str] = {}
    for letter in string.ascii_lowercase + string.ascii_uppercase:  # direct look-alikes
        for glyph in _glyphs(confusables_data.get(letter, [])):
            table.setdefault(glyph, letter.lower())
    for char, homoglyphs in confusables_data.items():  # one hop further: "τ" → "ᴛ" → "t"
        if len(char) != 1 or char.isascii() or char in table:
            continue
        targets = [table[g] for g in _glyphs(homoglyphs) if g in table]
        targets += [g for g in _glyphs(homoglyphs, ascii_only=True) if g.isalpha()]
        if targets:
            table[char] = targets[0].lower()
    for glyph, letter in list(table.items()):  # the text is casefolded first: "М" → "м"
        lowered = glyph.casefold()
        if len(lowered) == 1 and not lowered.isascii():
            table.setdefault(lowered, letter)
    for glyph in list(table):  # a capital reads as its small letter: "Ι" (iota) → "ι" → "i"
        lowered = glyph.casefold()
        if lowered != glyph and lowered in table:
            table[glyph] = table[lowered]
    # Two classes: `re` looks a character up in a bitmap only when all of them are in the BMP.
    bmp = char_ranges([ord(c) for c in table if c <= "\uffff"])
    astral = char_ranges([ord(c) for c in table if c > "\uffff"])
    return re.compile(f"[{bmp}]"), re.compile(f"[{astral}]"), table


def _glyphs(homoglyphs: list[dict[str, str]], *, ascii_only: bool = False) -> list[str]:
    found = []
    for entry in homoglyphs:
        glyph = entry["c"].strip(_DIRECTION_MARKS)
        if len(glyph) == 1 and glyph.isascii() == ascii_only:
            found.append(glyph)
    return found
