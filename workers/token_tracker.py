"""Token accounting of one turn (DESIGN §6).

Live totals are kept per API message id and merged field by field with max(): an
`assistant` line repeats its message's `message_start` usage on every content block
(summing them over-counts) and its `output_tokens` is a placeholder, while the
stream's `message_delta` carries the real output count. The final figures come from
the `result` line: its `usage` (or, when that is all zeros but `modelUsage` is not,
as after a SIGINT, the sum of `modelUsage`), `modelUsage` per model and
`total_cost_usd`. Without a `result`, the summary is the deduped live totals,
`partial=True`.
"""

from __future__ import annotations

from typing import Any

from app.pricing import TokenCounts
from app.protocol import ModelUsage, Usage, UsageSummary
from workers.stream_parser import AssistantMessage, CliMessage, ResultMessage, StreamEvent

FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
_API_FIELDS = {
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cache_creation_input_tokens": "cache_creation_tokens",
    "cache_read_input_tokens": "cache_read_tokens",
}
_MODEL_USAGE_FIELDS = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheCreationInputTokens": "cache_creation_tokens",
    "cacheReadInputTokens": "cache_read_tokens",
}


def usage_from_api(raw: dict[str, Any]) -> dict[str, int]:
    """An API `usage` object in our field names (missing fields absent)."""
    return {ours: int(raw[theirs] or 0) for theirs, ours in _API_FIELDS.items()
            if isinstance(raw.get(theirs), int | float)}


def _model_usage(raw: dict[str, Any]) -> ModelUsage:
    counts = {ours: int(raw.get(theirs) or 0) for theirs, ours in _MODEL_USAGE_FIELDS.items()}
    return ModelUsage(**counts, cost_usd=float(raw.get("costUSD") or 0.0))


class TokenTracker:
    """Feed it parsed messages; read `running` while streaming and `summary()` at the end."""

    def __init__(self) -> None:
        self._by_message: dict[str, dict[str, int]] = {}
        self._split: dict[str, tuple[int, int]] = {}  # (1h cache writes, web searches)
        self._model_of: dict[str, str] = {}
        self.result: ResultMessage | None = None

    def feed(self, msg: CliMessage) -> bool:
        """Account one message; True when the running totals changed."""
        if isinstance(msg, StreamEvent) and msg.kind not in ("message_start", "message_delta"):
            return False  # text and tool deltas (most lines) carry no usage
        before = self.running
        match msg:
            case StreamEvent(event={"type": "message_start", "message": dict(message)}):
                self._merge(str(message.get("id")), message.get("usage") or {},
                            str(message.get("model") or ""))
            case StreamEvent(event={"type": "message_delta", "usage": dict(usage)}, message_id=mid):
                if mid:
                    self._merge(mid, usage)
            case AssistantMessage(message_id=mid, usage=usage, model=model):
                self._merge(mid, usage, model)
            case ResultMessage():
                self.result = msg
        return self.running != before

    def _merge(self, message_id: str, raw: dict[str, Any], model: str = "") -> None:
        seen = self._by_message.setdefault(message_id, dict.fromkeys(FIELDS, 0))
        for name, value in usage_from_api(raw).items():
            seen[name] = max(seen[name], value)
        extra = TokenCounts.from_api(raw)
        one_hour, searches = self._split.get(message_id, (0, 0))
        self._split[message_id] = (max(one_hour, extra.cache_creation_1h_tokens),
                                   max(searches, extra.web_search_requests))
        if model and not model.startswith("<"):
            self._model_of.setdefault(message_id, model)

    def requests(self, fallback_model: str = "unknown") -> dict[str, list[TokenCounts]]:
        """The usage of each API message seen, by model (a message of unknown model under
        `fallback_model`); a subagent's messages appear here only in part."""
        out: dict[str, list[TokenCounts]] = {}
        for mid, seen in self._by_message.items():
            one_hour, searches = self._split.get(mid, (0, 0))
            counts = TokenCounts(**seen, cache_creation_1h_tokens=one_hour,
                                 web_search_requests=searches)
            out.setdefault(self._model_of.get(mid, fallback_model), []).append(counts)
        return out

    @property
    def running(self) -> Usage:
        """Deduped totals of every API message seen so far."""
        totals = dict.fromkeys(FIELDS, 0)
        for seen in self._by_message.values():
            for name in FIELDS:
                totals[name] += seen[name]
        return Usage(**totals)

    def summary(self) -> UsageSummary:
        """Claude Code's figures from `result`, else what was seen (partial). On a resumed
        turn `by_model` and the cost are the session's running totals: tasks/billing.py
        makes the turn's own figures from them."""
        if self.result is None:
            return self._partial()
        by_model = {name: _model_usage(raw) for name, raw in self.result.model_usage.items()}
        counts = usage_from_api(self.result.usage)
        if not any(counts.values()) and by_model:
            counts = {name: sum(getattr(m, name) for m in by_model.values()) for name in FIELDS}
        return UsageSummary.model_validate(
            {**counts, "total_cost_usd": self.result.total_cost_usd, "by_model": by_model,
             "partial": False})

    def _partial(self) -> UsageSummary:
        by_model: dict[str, ModelUsage] = {}
        for mid, seen in self._by_message.items():
            model = self._model_of.get(mid)
            if model is None:
                continue
            current = by_model.get(model, ModelUsage())
            by_model[model] = ModelUsage(**{n: getattr(current, n) + seen[n] for n in FIELDS})
        return UsageSummary(**self.running.model_dump(), by_model=by_model, partial=True)


__all__ = ["TokenTracker", "usage_from_api"]
