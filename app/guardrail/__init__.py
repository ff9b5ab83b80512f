"""The guardrail (DESIGN §10): input checks (normalisation, rules by category, a classifier) and
output sanitising that survives secrets split across streamed chunks."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from app.errors import InputBlocked
from app.guardrail.classifier import NgramModel, load_model
from app.guardrail.output import OutputSanitizer, StreamSanitizer, _replacement, output_sanitizer
from app.guardrail.pipeline import Views, canonical, normalize, views
from app.guardrail.rules import (
    BUILTIN_RULES,
    RULE_CODES,
    GuardrailRule,
    RuleSet,
    compile_extra_rules,
)
from app.settings import Settings

__all__ = [
    "CLASSIFIER_CODE",
    "RULE_CODES",
    "Guardrail",
    "GuardrailRule",
    "InputCheck",
    "OutputSanitizer",
    "StreamSanitizer",
    "canonical",
    "normalize",
    "views",
]
__all__ += ["_replacement"]  # the output tests compare against the raw substitution

CLASSIFIER_CODE = "classifier"
# Too few n-grams to judge a text by ("sudoku"); short commands are the rules' job.
CLASSIFIER_MIN_CHARS = 16


@dataclass(frozen=True)
class InputCheck:
    """What the guardrail decided about one input, and why."""

    rule: str | None  # the code of the rule that blocked it, or None
    views: Views
    score: float  # the classifier's highest window probability (0 when it is off)

    @property
    def blocked(self) -> bool:
        return self.rule is not None


class Guardrail:
    """Checks what users send and builds sanitizers for what they are shown."""

    def __init__(self, settings: Settings | None = None) -> None:
        disabled = tuple(settings.guardrail_disabled_rules) if settings else ()
        extra = tuple(settings.guardrail_extra_patterns) if settings else ()
        self._ruleset = _ruleset(disabled, extra)
        self.rules = self._ruleset.rules
        self._model: NgramModel | None = None if CLASSIFIER_CODE in disabled else load_model()
        self._threshold = settings.guardrail_classifier_threshold if settings else None

    def check(self, text: str) -> InputCheck:
        """The decision on one input: the first rule any view of it breaks, else the
        classifier's verdict."""
        seen = views(text)
        raw = normalize(text) if self._ruleset.extra else ""
        rule = self._ruleset.first_match(seen.all(), raw)
        if rule is not None:
            return InputCheck(rule.code, seen, 0.0)
        judged = [view for view in seen.all() if len(view) >= CLASSIFIER_MIN_CHARS]
        if self._model is None or not judged:
            return InputCheck(None, seen, 0.0)
        score = max(self._model.score(view) for view in judged)
        threshold = self._threshold if self._threshold is not None else self._model.threshold
        return InputCheck(CLASSIFIER_CODE if score >= threshold else None, seen, score)

    def check_input(self, text: str) -> GuardrailRule | None:
        """The rule the input breaks (the classifier counts as one), or None."""
        rule = self.check(text).rule
        if rule is None:
            return None
        return next((r for r in self.rules if r.code == rule), None) or _CLASSIFIER_RULE

    def validate_input(self, text: str) -> None:
        """Raise InputBlocked with the rule's code when the text breaks a rule."""
        rule = self.check(text).rule
        if rule is not None:
            raise InputBlocked(rule=rule)

    def output_sanitizer(
        self, *, path_prefixes: Sequence[str] = (), config_dirs: Sequence[str] = ()
    ) -> OutputSanitizer:
        """A sanitizer that also hides these workspace prefixes and config directories."""
        return output_sanitizer(path_prefixes=path_prefixes, config_dirs=config_dirs)


_CLASSIFIER_RULE = GuardrailRule(CLASSIFIER_CODE, "the injection classifier", re.compile("(?!)"))


@lru_cache(maxsize=32)
def _ruleset(disabled: tuple[str, ...], extra: tuple[str, ...]) -> RuleSet:
    """The enabled rules, compiled once per configuration (a Guardrail is built per turn)."""
    unknown = sorted(set(disabled) - RULE_CODES - {CLASSIFIER_CODE})
    if unknown:
        raise ValueError(f"WX_GUARDRAIL_DISABLED_RULES: unknown rule codes {unknown}; "
                         f"known: {sorted(RULE_CODES)}")
    kept = [rule for rule in BUILTIN_RULES if rule.code not in disabled]
    return RuleSet(kept, compile_extra_rules(list(extra)))
