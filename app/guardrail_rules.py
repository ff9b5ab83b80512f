"""Input rules of the guardrail (DESIGN §10) and the text normalisation they match against."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["BUILTIN_RULES", "GuardrailRule", "compile_extra_rules", "fold_accents", "normalize"]

# Invisible characters used to split words ("su\u200bdo"): zero-width space/joiners, word joiner,
# BOM, soft hyphen, bidi controls, variation selectors, Hangul fillers, Mongolian separators.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
    "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class GuardrailRule:
    """One blocked input pattern with its stable code."""

    code: str
    description: str
    pattern: re.Pattern[str]


def normalize(text: str) -> str:
    """NFKC, invisible characters removed, casefolded, whitespace collapsed and stripped."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return _SPACES.sub(" ", text.casefold()).strip()


def fold_accents(text: str) -> str:
    """Drop combining marks, so "instruções" also reads "instrucoes"."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _rule(code: str, description: str, *patterns: str) -> GuardrailRule:
    return GuardrailRule(code, description, re.compile("|".join(f"(?:{p})" for p in patterns)))


# Patterns are written for normalised, accent-folded text: lower case, single spaces, no accents.
_EN_PREVIOUS = r"(?:previous|prior|above|earlier|preceding|former|original)"
_EN_STRONG = r"(?:instructions?|prompts?|directives|guidelines)"
_EN_ORDERS = rf"(?:{_EN_STRONG}|rules|directions|messages|context)"
_EN_ARTICLES = r"(?:(?:all|any|of|the|your|my|these|those|every|everything) )*"
_PT_STRONG = r"(?:instrucoes|instrucao|orientacoes|diretrizes|diretivas)"
_PT_ORDERS = rf"(?:{_PT_STRONG}|regras|ordens|comandos|mensagens)"
_PT_PREVIOUS = r"(?:anteriores|anterior|anteriormente|previas|acima|iniciais|originais|antes)"
_PT_ARTICLES = r"(?:(?:todas|todos|tudo|as|os|a|o|suas|seus|sua|minhas|essas|estas) )*"
_PT_VERBS = r"(?:ignor|desconsider|esquec)(?:e|a|ar|am|em)"

BUILTIN_RULES: tuple[GuardrailRule, ...] = (
    _rule("slash_command", "Claude Code slash command at the start", r"^/[\w-]+"),
    _rule(
        "credential_access",
        "credential names and files",
        r"anthropic[ _-]?api[ _-]?key",
        r"anthropic[ _-]?auth[ _-]?token",
        r"claude[ _-]?code[ _-]?oauth[ _-]?token",
        r"claude[ _-]?oauth[ _-]?token",
        r"wx[ _-]?jwt[ _-]?secret",
        r"\.credentials\.json",
        r"\bsk-ant-",
    ),
    _rule(
        "destructive_command",
        "recursive forced deletion",
        r"\brm (?:-[a-z]*r[a-z]*f[a-z]*|-[a-z]*f[a-z]*r[a-z]*)(?![\w-])",
        r"\brm (?:-[a-z]*r[a-z]* -[a-z]*f[a-z]*|-[a-z]*f[a-z]* -[a-z]*r[a-z]*)(?![\w-])",
        r"\brm (?:--recursive --force|--force --recursive|-[a-z]*r[a-z]* --force"
        r"|--force -[a-z]*r[a-z]*|-[a-z]*f[a-z]* --recursive|--recursive -[a-z]*f[a-z]*)",
        r"--no-preserve-root",
    ),
    _rule("privilege_escalation", "privilege escalation", r"\bsudo\b", r"\bdoas\b"),
    _rule(
        "system_prompt",
        "attempt to read the system prompt",
        r"\bsystem ?prompts?\b",
        r"\bsystem (?:instructions|message)\b",
        r"\bprompts? (?:do|de) sistema\b",
        r"\binstruc(?:oes|ao) (?:do|de) sistema\b",
        r"\bmensage(?:m|ns) (?:do|de) sistema\b",
    ),
    _rule(
        "prompt_injection",
        "attempt to override the instructions",
        rf"\b(?:ignore|disregard|forget) {_EN_ARTICLES}{_EN_PREVIOUS}\b",
        rf"\b(?:ignore|disregard|forget|override) {_EN_ARTICLES}(?:{_EN_PREVIOUS} )?{_EN_STRONG}\b",
        rf"\b(?:disregard|forget|override) {_EN_ARTICLES}(?:{_EN_PREVIOUS} )?{_EN_ORDERS}\b",
        rf"\b{_PT_VERBS} {_PT_ARTICLES}{_PT_STRONG}\b",
        rf"\b{_PT_VERBS} {_PT_ARTICLES}{_PT_ORDERS} {_PT_PREVIOUS}\b",
        rf"\b{_PT_VERBS} {_PT_ARTICLES}(?:o que (?:foi dito|eu disse|disse) )?{_PT_PREVIOUS}\b",
    ),
)


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
