"""Input rules of the guardrail (DESIGN §10): one compiled pattern per category, stable codes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.guardrail.phrases import FAMILIES

__all__ = ["BUILTIN_RULES", "RULE_CODES", "GuardrailRule", "compile_extra_rules"]


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
