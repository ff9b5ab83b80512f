"""A turn's own usage from Claude Code's running totals (pure, no I/O; README "Billing").

On a `--resume`d turn Claude Code restores the session's cost state, so the `result` line's
`modelUsage` and `total_cost_usd` are running totals of the whole Claude session. The turn's
own figures are this result minus the totals Claude Code had persisted before the turn (the
`baseline`, kept per Claude session by the caller). Checked on Claude Code 2.1.332:

* a completed turn (also an API error, `--max-turns`, `--max-budget-usd`) persists its
  totals: they are the next turn's baseline;
* a SIGINT'd turn's `result` (`error_during_execution`) includes the turn, but Claude Code
  does not persist it: the next turn's totals exclude the interrupted turn, so the baseline
  stays where it was (moving it would lose the next turn's first tokens);
* a SIGTERM'd or SIGKILL'd turn has no `result`: it is counted from the deduplicated stream
  usage and the baseline stays (the next totals exclude it too);
* a total below the baseline (a fresh config dir, another host, a restored transcript), or a
  difference smaller than the result's own `usage` (this turn's main-loop tokens, which the
  running totals must contain), is a reset: the turn's figures are the result's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.pricing import TokenCounts
from app.pricing.cost import total_of
from app.protocol import BillingBasis
from workers.stream_parser import ResultMessage

_MODEL_USAGE_FIELDS = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheCreationInputTokens": "cache_creation_tokens",
    "cacheReadInputTokens": "cache_read_tokens",
    "cacheCreationEphemeral1hInputTokens": "cache_creation_1h_tokens",
    "webSearchRequests": "web_search_requests",
}
# Claude Code ends a SIGINT'd turn, or one whose --resume found no conversation, with this
# subtype; it does not persist such a turn's totals.
_UNPERSISTED_SUBTYPE = "error_during_execution"


@dataclass(frozen=True)
class ModelTotals:
    """A model's tokens and Claude Code's cost for them (running totals or one turn's)."""

    tokens: TokenCounts = field(default_factory=TokenCounts)
    cost_usd: float = 0.0

    def __sub__(self, other: ModelTotals) -> ModelTotals:
        return ModelTotals(self.tokens - other.tokens, self.cost_usd - other.cost_usd)


Totals = dict[str, ModelTotals]  # model -> figures


@dataclass(frozen=True)
class TurnUsage:
    """One turn's own figures by model, and the baseline its successor is measured from."""

    by_model: Totals
    basis: BillingBasis
    baseline: Totals | None
    claude_cost_usd: float | None  # None: no result line, nothing from Claude Code

    @property
    def tokens(self) -> TokenCounts:
        return total_of(m.tokens for m in self.by_model.values())


def totals_of(result: ResultMessage) -> Totals:
    """The running totals a `result` line reports, by model."""
    return {model: _model_totals(raw) for model, raw in result.model_usage.items()}


def _model_totals(raw: Mapping[str, Any]) -> ModelTotals:
    counts = {ours: int(raw.get(theirs) or 0) for theirs, ours in _MODEL_USAGE_FIELDS.items()}
    return ModelTotals(TokenCounts(**counts), float(raw.get("costUSD") or 0.0))


def turn_usage(baseline: Totals | None, *, result: ResultMessage | None,
               seen: Mapping[str, list[TokenCounts]]) -> TurnUsage:
    """The turn's own figures. `baseline`: the session's persisted totals before this turn
    (None for a Claude session never billed); `seen`: the stream's API messages by model,
    the figures of a turn without a result."""
    if result is None:
        own = {model: ModelTotals(total_of(reqs)) for model, reqs in seen.items()}
        return TurnUsage(own, "stream", baseline, None)
    current = totals_of(result)
    next_baseline = baseline if result.subtype == _UNPERSISTED_SUBTYPE else current
    if baseline is None:
        return _own(current, "first", next_baseline)
    delta = _difference(current, baseline)
    if delta is None or not _covers(delta, TokenCounts.from_api(result.usage)):
        return _own(current, "reset", next_baseline)
    return _own(delta, "delta", next_baseline)


def _own(by_model: Totals, basis: BillingBasis, baseline: Totals | None) -> TurnUsage:
    kept = {m: t for m, t in by_model.items() if not t.tokens.is_zero() or t.cost_usd}
    return TurnUsage(kept, basis, baseline, sum(t.cost_usd for t in kept.values()))


def _difference(current: Totals, baseline: Totals) -> Totals | None:
    """current - baseline model by model; None when any counter went down."""
    delta: Totals = {}
    for model in current.keys() | baseline.keys():
        diff = current.get(model, ModelTotals()) - baseline.get(model, ModelTotals())
        if diff.tokens.any_negative() or diff.cost_usd < -1e-9:
            return None
        delta[model] = ModelTotals(diff.tokens, max(0.0, diff.cost_usd))
    return delta


def _covers(delta: Totals, own: TokenCounts) -> bool:
    """The difference holds at least the turn's own main-loop prompt tokens (`result.usage`,
    Claude Code's own count: unlike the stream, it leaves out an attempt that failed
    mid-stream, as its running totals do)."""
    return sum(t.tokens.prompt_tokens for t in delta.values()) >= own.prompt_tokens


__all__ = ["ModelTotals", "Totals", "TurnUsage", "totals_of", "turn_usage"]
