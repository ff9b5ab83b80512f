"""Input rules of the guardrail (DESIGN §10): one compiled pattern per category, stable codes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.guardrail.phrases import FAMILIES
from app.guardrail.prefilter import Prefilter

__all__ = ["BUILTIN_RULES", "RULE_CODES", "GuardrailRule", "RuleSet", "compile_extra_rules"]


@dataclass(frozen=True)
class GuardrailRule:
    """One blocked input pattern with its stable code."""

    code: str
    description: str
    pattern: re.Pattern[str]


def _rule(code: str, description: str, *patterns: str) -> GuardrailRule:
    return GuardrailRule(code, description, re.compile("|".join(f"(?:{p})" for p in patterns)))


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
    """The enabled rules, checked with the RE2 prefilter first: `re` then runs only the rules
    the prefilter names, on the 512-character chunks it names them for."""

    CHUNK = 512
    STRIDE = 256  # chunks overlap by 256: a match of up to 192 characters lies whole in one
    MARGIN = 64  # a match this close to a cut chunk's end may be an artefact of the cut

    def __init__(self, builtin: Sequence[GuardrailRule], extra: Sequence[GuardrailRule]) -> None:
        self.builtin = tuple(builtin)
        self.extra = tuple(extra)
        self._prefilter = Prefilter([rule.pattern.pattern for rule in self.builtin])

    @property
    def rules(self) -> tuple[GuardrailRule, ...]:
        return self.builtin + self.extra

    def first_match(self, texts: Sequence[str], raw: str) -> GuardrailRule | None:
        """The first rule (in order) that one of the texts breaks; the configured patterns
        also read the raw normalised text (accents kept)."""
        hits = {index for text in texts for index in self._hits(text)}
        for index in sorted(hits):
            return self.builtin[index]
        for rule in self.extra:
            if any(rule.pattern.search(text) for text in (*texts, raw)):
                return rule
        return None

    def _hits(self, text: str) -> set[int]:
        found: set[int] = set()
        for start, end in self._chunks(len(text)):
            for index in self._prefilter.candidates(text[start:end]) - found:
                if _matches(self.builtin[index].pattern, text, start, end, self.MARGIN):
                    found.add(index)
        return found

    def _chunks(self, length: int) -> list[tuple[int, int]]:
        if length <= self.CHUNK:
            return [(0, length)]
        starts = range(0, length - self.CHUNK + self.STRIDE, self.STRIDE)
        return [(start, min(length, start + self.CHUNK)) for start in starts]


def _matches(pattern: re.Pattern[str], text: str, start: int, end: int, margin: int) -> bool:
    """Whether the pattern matches in text[start:end], not counting a match that ends near a
    cut (`$` or a lookahead there would read the cut as the end of the text)."""
    while (match := pattern.search(text, start, end)) is not None:
        if end == len(text) or match.end() <= end - margin:
            return True
        start = match.start() + 1
    return False
