"""Where a rule can match: the literal words every match of a rule alternative must contain.

Python's `re` tries every branch of a phrase family at every position of a text (a few ms on
4 KB). But each alternative has a required part whose every match starts with a known literal
("ignor", "instruc", "environ", ...). One Aho-Corasick pass finds those literals; `re` then
runs only the alternatives whose literal is present, only on the text around it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

__all__ = ["AnchorIndex", "Candidates", "leading_needles", "needles"]

MIN_NEEDLE = 3
_MAX_PREFIXES = 2000
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
Prefixes = set[tuple[str, bool]]  # (literal prefix, whether it is the whole match)


def leading_needles(pattern: str) -> frozenset[str] | None:
    """The literals every match of the pattern starts with (each at least MIN_NEEDLE long),
    or None."""
    prefixes = _prefixes(sre_parse.parse(pattern).data)
    if prefixes is None or any(len(p) < MIN_NEEDLE for p, _ in prefixes):
        return None
    return frozenset(p for p, _ in prefixes)


def needles(pattern: str) -> frozenset[str] | None:
    """Literals one of which every match of the pattern contains, or None if none are known:
    the literal prefixes (at least MIN_NEEDLE long) of its most selective required part."""
    return _best(list(sre_parse.parse(pattern).data))


def _best(items: list[tuple[Any, Any]]) -> frozenset[str] | None:
    if len(items) == 1 and items[0][0] is sre.BRANCH:  # a|b: a needle of either
        either: set[str] = set()
        for branch in items[0][1][1]:
            part = _best(list(branch.data))
            if part is None:
                return None
            either |= part
        return frozenset(either)
    best: frozenset[str] | None = None
    for start, (op, av) in enumerate(items):
        if op in _ZERO_WIDTH or (op in (sre.MAX_REPEAT, sre.MIN_REPEAT) and av[0] == 0):
            continue  # a part that may be absent from a match
        prefixes = _prefixes(items[start:])
        if prefixes is None or any(len(p) < MIN_NEEDLE for p, _ in prefixes):
            continue
        found = frozenset(p for p, _ in prefixes)
        if best is None or _score(found) > _score(best):
            best = found
    return best


def _score(found: frozenset[str]) -> tuple[int, int]:
    """Longer literals are rarer in work messages; fewer of them, fewer false hits."""
    return min(map(len, found)), -len(found)


def _prefixes(items: Iterable[tuple[Any, Any]]) -> Prefixes | None:
    results: Prefixes = {("", True)}
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        element = _element(op, av)
        if element is None or len(results) * len(element) > _MAX_PREFIXES:
            return {(prefix, False) for prefix, _ in results}  # the literals known so far
        grown: Prefixes = set()
        for prefix, complete in results:
            if complete:
                grown |= {(prefix + more, whole) for more, whole in element}
            else:
                grown.add((prefix, False))
        results = grown
        if not any(complete for _, complete in results):
            break
    return results


def _element(op: Any, av: Any) -> Prefixes | None:
    if op is sre.LITERAL:
        return {(chr(av), True)}
    if op is sre.SUBPATTERN:
        return _prefixes(av[3].data)
    if op is sre.BRANCH:
        union: Prefixes = set()
        for branch in av[1]:
            part = _prefixes(branch.data)
            if part is None:
                return None
            union |= part
        return union
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        low, high, sub = av
        inner = _prefixes(sub.data)
        if low == 0 and high == 1 and inner is not None:  # "x?": with it and without it
            return inner | {("", True)}
        if low == 0:
            return {("", False)}
        if inner is None or (low == high == 1):
            return inner
        return {(prefix, False) for prefix, _ in inner}
    if op is sre.IN and len(av) <= 8 and all(kind is sre.LITERAL for kind, _ in av):
        return {(chr(code), True) for _, code in av}
    return None


@dataclass
class Candidates:
    """Where the alternatives may match in one text."""

    starts: dict[int, list[int]]  # alternative → positions a match may start at
    spans: dict[int, list[tuple[int, int]]]  # alternative → windows a match may lie in
    everywhere: list[int]  # alternatives to search the whole text for


class AnchorIndex:
    """Finds, in one Aho-Corasick pass, the positions where each alternative may match: at an
    occurrence of the literal it starts with, or near one of a literal it holds; the few
    alternatives with neither (a `^` anchor makes them cheap) are searched whole."""

    RADIUS_BEFORE = 320  # no match starts more than this before its literal
    RADIUS_AFTER = 480

    def __init__(self, patterns: Sequence[str]) -> None:
        import ahocorasick

        self.unanchored: list[int] = []
        by_needle: dict[str, list[tuple[int, bool]]] = defaultdict(list)
        for index, pattern in enumerate(patterns):
            if pattern.startswith("^"):  # tried at the start of the text only: cheap
                self.unanchored.append(index)
            elif (found := leading_needles(pattern)) is not None:
                by_needle.update({n: [*by_needle[n], (index, True)] for n in found})
            elif (found := needles(pattern)) is not None:
                by_needle.update({n: [*by_needle[n], (index, False)] for n in found})
            else:
                self.unanchored.append(index)
        self._automaton = ahocorasick.Automaton()
        for needle, owners in by_needle.items():
            self._automaton.add_word(needle, (len(needle), tuple(owners)))
        self._empty = not by_needle
        if by_needle:
            self._automaton.make_automaton()

    def candidates(self, text: str) -> Candidates:
        starts: dict[int, list[int]] = defaultdict(list)
        inside: dict[int, list[int]] = defaultdict(list)
        if not self._empty:
            for end, (length, owners) in self._automaton.iter(text):
                for index, leading in owners:
                    (starts if leading else inside)[index].append(end - length + 1)
        spans = {index: _merged(positions, len(text), self.RADIUS_BEFORE, self.RADIUS_AFTER)
                 for index, positions in inside.items()}
        return Candidates(dict(starts), spans, self.unanchored)


def _merged(positions: list[int], length: int, before: int, after: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for position in sorted(positions):
        start, end = max(0, position - before), min(length, position + after)
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(spans[-1][1], end))
        else:
            spans.append((start, end))
    return spans
