"""A linear-time prefilter for the rules: one RE2 set of looser copies of their patterns.

Python's `re` tries every alternative of a phrase family at every position of the text (a few
ms on 4 KB); RE2 reads the text once. A rule's RE2 copy drops what RE2 cannot run (lookarounds,
word boundaries) and widens `\\w`, `\\W` and `\\d` to every non-ASCII character, so it matches
wherever the rule does: only the rules it reports are then run with `re`."""

from __future__ import annotations

import logging
from collections.abc import Sequence

__all__ = ["Prefilter", "loosen"]

_WIDER = {
    "w": r"[0-9A-Za-z_\x{80}-\x{10FFFF}]",
    "W": r"[^0-9A-Za-z_]",
    "d": r"[0-9\x{80}-\x{10FFFF}]",
    "b": "",
    "B": "",
}
_IN_CLASS = {"w": r"0-9A-Za-z_\x{80}-\x{10FFFF}", "d": r"0-9\x{80}-\x{10FFFF}"}


def loosen(pattern: str) -> str:
    """The pattern without lookarounds and word boundaries, with wider classes: it matches a
    superset of what the original matches."""
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            escaped = pattern[i + 1]
            if in_class and escaped in _IN_CLASS:
                out.append(_IN_CLASS[escaped])
            elif in_class and escaped in "WD":
                raise ValueError(f"negated class escape \\{escaped} inside [] in {pattern!r}")
            elif not in_class and escaped in _WIDER:
                out.append(_WIDER[escaped])
            else:
                out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]" or out[-1] in ("[", "[^")
            out.append(ch)
        elif ch == "[":
            in_class = True
            out.append("[^" if pattern.startswith("[^", i) else "[")
            i += 1 if pattern.startswith("[^", i) else 0
        elif pattern.startswith(("(?=", "(?!", "(?<=", "(?<!"), i):
            i = _group_end(pattern, i)
            continue
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _group_end(pattern: str, start: int) -> int:
    """The index after the group that opens at `start`."""
    depth, i, in_class = 0, start, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            if pattern.startswith(("[]", "[^]"), i):
                i += 2 if pattern.startswith("[]", i) else 3
                continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError(f"unbalanced group at {start} in {pattern!r}")


class Prefilter:
    """Which of these patterns may match a text, in one pass."""

    def __init__(self, patterns: Sequence[str]) -> None:
        import re2

        options = re2.Options()
        options.max_mem = 256 << 20
        options.never_capture = True
        options.log_errors = False
        logging.getLogger("re2").setLevel(logging.ERROR)
        self._set = re2.Set.SearchSet(options)
        # Index 0 matches every text: a match without it means RE2 gave up (its DFA ran out of
        # memory), and then every pattern is a candidate.
        self._set.Add("")
        for pattern in patterns:
            self._set.Add(loosen(pattern))
        self._set.Compile()
        self._all = set(range(len(patterns)))

    def candidates(self, text: str) -> set[int]:
        """Indices of the patterns that may match (every one that does is among them)."""
        found = self._set.Match(text.encode("utf-8")) or ()
        if 0 not in found:
            return set(self._all)
        return {index - 1 for index in found if index}
