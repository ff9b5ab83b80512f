"""Output sanitising (DESIGN §10): substitutions that survive secrets split across streamed
chunks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

__all__ = ["OutputSanitizer", "StreamSanitizer", "output_sanitizer"]

_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_HOME_CONFIGS = ("~/.claude", "$HOME/.claude", "${HOME}/.claude")
_ASSISTANT_FLAGS = ("-p", "--print")
_ASSISTANT_SPACES = r"\s{1,4}"
_ASSISTANT_MAX = len("claude") + 4 + len("--print") + 1  # + the char the lookahead reads


def output_sanitizer(
    *, path_prefixes: Sequence[str] = (), config_dirs: Sequence[str] = ()
) -> OutputSanitizer:
    """A sanitizer that also hides these workspace prefixes and config directories."""
    return OutputSanitizer(_compile(_clean(path_prefixes), _clean(config_dirs)))


class OutputSanitizer:
    """Applies the output substitutions to whole texts or, through `stream()`, to chunks."""

    def __init__(self, rules: _OutputRules) -> None:
        self._rules = rules

    def sanitize(self, text: str) -> str:
        """The whole text with every substitution applied."""
        return self._rules.sanitize(text)

    def sanitize_value(self, value: Any) -> Any:
        """Strings inside a JSON-like value (tool inputs, results) sanitized, keys included."""
        if isinstance(value, str):
            return self._rules.sanitize(value)
        if isinstance(value, dict):
            return {self.sanitize_value(k): self.sanitize_value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.sanitize_value(item) for item in value]
        return value

    def stream(self) -> StreamSanitizer:
        """A fresh streaming state for one text delivered in chunks."""
        return StreamSanitizer(self._rules)


class StreamSanitizer:
    """Sanitizes a text fed in chunks; feed outputs + flush == sanitize(whole text)."""

    def __init__(self, rules: _OutputRules) -> None:
        self._rules = rules
        self._held = ""

    def feed(self, chunk: str) -> str:
        """The text that is safe to show now; holds back only what could start a match."""
        if not chunk:
            return ""
        buf = self._held + chunk
        out, cut = self._rules.render(buf, self._rules.live_start(buf))
        self._held = buf[cut:]
        return out

    def flush(self) -> str:
        """The held-back tail, sanitized as the end of the text."""
        out = self._rules.sanitize(self._held)
        self._held = ""
        return out


class _OutputRules:
    """One compiled alternation for the substitutions, and one for 'could still become a match'."""

    def __init__(
        self, pattern: re.Pattern[str], live: re.Pattern[str], window: int, needles: tuple[str, ...]
    ) -> None:
        self.pattern = pattern
        self._live = live
        self._window = window
        self._needles = needles

    def sanitize(self, text: str) -> str:
        # Substring checks run at memory speed; the case-insensitive alternation does not,
        # and most texts (a 2 MB file a tool read) hold nothing to replace.
        if not self._may_match(text):
            return text
        return self.pattern.sub(_replacement, text)

    def _may_match(self, text: str) -> bool:
        """False only when no substitution can apply: every match holds one needle."""
        return any(needle in text for needle in self._needles) or "claude" in text.casefold()

    def live_start(self, buf: str) -> int:
        """The first index whose suffix could still grow into a match (len(buf) if none)."""
        start = max(0, len(buf) - self._window)
        if 0 <= buf.rfind("sk-ant-") < start:  # a token can grow past the window
            while start > 0 and buf[start - 1] in _TOKEN_CHARS:
                start -= 1
        found = self._live.search(buf, start)
        return found.start() if found else len(buf)

    def render(self, buf: str, limit: int) -> tuple[str, int]:
        """Sanitize buf[:limit], pulling the limit back before a match that crosses it."""
        pieces: list[str] = []
        pos = 0
        for match in self.pattern.finditer(buf):
            if match.start() >= limit:
                break
            if match.end() > limit:
                limit = match.start()
                break
            pieces += (buf[pos : match.start()], _replacement(match))
            pos = match.end()
        pieces.append(buf[pos:limit])
        return "".join(pieces), limit


def _replacement(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "path":
        return "" if match.group("strip") is not None else "."
    return {"token": "[token]", "assistant": "[assistant]", "config": "[config]"}[str(kind)]


def _clean(paths: Sequence[str]) -> tuple[str, ...]:
    """Trailing slashes dropped, empties and the root dropped, longest first."""
    kept = {path.rstrip("/") for path in paths if path.rstrip("/")}
    return tuple(sorted(kept, key=lambda p: (-len(p), p)))


def _prefixes_of(atoms: Sequence[str]) -> str:
    """A regex matching any non-empty prefix of the concatenated atoms."""
    nested = ""
    for atom in reversed(atoms):
        nested = f"{atom}(?:{nested})?" if nested else atom
    return nested


@lru_cache(maxsize=256)
def _compile(prefixes: tuple[str, ...], configs: tuple[str, ...]) -> _OutputRules:
    configs = tuple(sorted({*configs, *_HOME_CONFIGS}, key=lambda p: (-len(p), p)))
    flags = "|".join(re.escape(flag) for flag in _ASSISTANT_FLAGS)
    alternatives = [
        r"(?P<token>sk-ant-[A-Za-z0-9_-]+)",
        rf"(?P<assistant>(?i:claude{_ASSISTANT_SPACES}(?:{flags}))(?![\w-]))",
        "(?P<config>" + "|".join(re.escape(c) for c in configs) + ")",
    ]
    if prefixes:
        names = "|".join(re.escape(p) for p in prefixes)
        alternatives.append(rf"(?P<path>(?:{names})(?:(?P<strip>/)(?=[\w.-])|/?(?![\w-])))")
    literals = [*configs, *(p + "/" for p in prefixes)]
    live = [
        _prefixes_of([re.escape(ch) for ch in "sk-ant-"] + ["[A-Za-z0-9_-]*"]),
        *(f"(?i:{_prefixes_of(_assistant_atoms(flag))})" for flag in _ASSISTANT_FLAGS),
        *(_prefixes_of([re.escape(ch) for ch in literal]) for literal in literals),
    ]
    window = max([_ASSISTANT_MAX, *(len(literal) + 1 for literal in literals)])
    return _OutputRules(
        re.compile("|".join(alternatives)), re.compile("(?:" + "|".join(live) + r")\Z"), window,
        needles=("sk-ant-", *configs, *prefixes),
    )


def _assistant_atoms(flag: str) -> list[str]:
    return [*"claude", _ASSISTANT_SPACES, *(re.escape(ch) for ch in flag)]
