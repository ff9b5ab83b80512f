"""Input rules of the guardrail (DESIGN §10): one compiled pattern per category, stable codes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.guardrail.anchors import AnchorIndex
from app.guardrail.phrases import FAMILIES

__all__ = ["BUILTIN_RULES", "RULE_CODES", "GuardrailRule", "RuleSet", "compile_extra_rules"]


@dataclass(frozen=True)
class GuardrailRule:
    """One blocked input pattern with its stable code (and its alternatives, one by one)."""

    code: str
    description: str
    pattern: re.Pattern[str]
    parts: tuple[re.Pattern[str], ...] = ()


def _rule(code: str, description: str, *patterns: str) -> GuardrailRule:
    return GuardrailRule(code, description, re.compile("|".join(f"(?:{p})" for p in patterns)),
                         tuple(re.compile(p) for p in patterns))


_DESCRIPTIONS = {
    "prompt_injection": "attempt to override the instructions",
    "system_prompt": "attempt to read the system prompt",
    "credential_access": "credential, secret or environment exfiltration",
    "destructive_command": "destructive command",
    "privilege_escalation": "privilege escalation",
    "role_override": "attempt to replace the assistant's role or lift its restrictions",
}

# A slash command is a leading "/name"; "/src/app/main.py" (a path: another "/") is not one.
_SLASH = r"^/(?![\w:.-]*/)[\w][\w:.-]*"

BUILTIN_RULES: tuple[GuardrailRule, ...] = (
    _rule("slash_command", "Claude Code slash command at the start", _SLASH),
    *(_rule(code, _DESCRIPTIONS[code], *patterns) for code, patterns in FAMILIES.items()),
)
RULE_CODES: frozenset[str] = frozenset(rule.code for rule in BUILTIN_RULES)


def compile_extra_rules(patterns: Sequence[str]) -> tuple[GuardrailRule, ...]:
    """Rules from `WX_GUARDRAIL_EXTRA_PATTERNS`, coded `custom_1`, `custom_2`, …"""
    rules = []
    for number, source in enumerate(patterns, start=1):
        try:
            compiled = re.compile(source, re.IGNORECASE)
        except re.error as exc:
            where = f"WX_GUARDRAIL_EXTRA_PATTERNS[{number - 1}] {source!r}"
            raise ValueError(f"{where}: {exc}") from exc
        rules.append(GuardrailRule(f"custom_{number}", f"configured pattern {source}", compiled))
    return tuple(rules)


class RuleSet:
    """The enabled rules, checked through their anchors: `re` runs only the alternatives whose
    required literal is in the text, only around it."""

    MARGIN = 64  # a match this close to a cut window's end may be an artefact of the cut

    def __init__(self, builtin: Sequence[GuardrailRule], extra: Sequence[GuardrailRule]) -> None:
        self.builtin = tuple(builtin)
        self.extra = tuple(extra)
        self._parts = [(number, part) for number, rule in enumerate(self.builtin)
                       for part in rule.parts or (rule.pattern,)]
        self._anchors = AnchorIndex([part.pattern for _, part in self._parts])

    @property
    def rules(self) -> tuple[GuardrailRule, ...]:
        return self.builtin + self.extra

    def first_match(self, texts: Sequence[str], raw: str) -> GuardrailRule | None:
        """The first rule (in order) that one of the texts breaks; the configured patterns
        also read the raw normalised text (accents kept)."""
        hits = {self._parts[index][0] for text in texts for index in self._hits(text)}
        if hits:
            return self.builtin[min(hits)]
        for rule in self.extra:
            if any(rule.pattern.search(text) for text in (*texts, raw)):
                return rule
        return None

    def _hits(self, text: str) -> set[int]:
        """The alternatives that match the text."""
        where = self._anchors.candidates(text)
        found = {i for i in where.everywhere if self._parts[i][1].search(text)}
        for index, starts in where.starts.items():
            match = self._parts[index][1].match
            if any(match(text, start) for start in starts):
                found.add(index)
        for index, spans in where.spans.items():
            pattern = self._parts[index][1]
            if any(_matches(pattern, text, start, end, self.MARGIN) for start, end in spans):
                found.add(index)
        return found


def _matches(pattern: re.Pattern[str], text: str, start: int, end: int, margin: int) -> bool:
    """Whether the pattern matches in text[start:end], not counting a match that ends near a
    cut (`$` or a lookahead there would read the cut as the end of the text)."""
    while (match := pattern.search(text, start, end)) is not None:
        if end == len(text) or match.end() <= end - margin:
            return True
        start = match.start() + 1
    return False
