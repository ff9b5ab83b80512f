"""Per-turn billing on the recorded captures: each turn's own figures from Claude Code's
running totals (deltas, resets, interrupted turns), priced, against what the simulator billed
for the turn's API requests (tests/data/captures/manifest.json)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import pytest

from app.pricing import TokenCounts, load_price_table
from app.protocol import UsageSummary
from app.services.billing import billed_summary
from tests.unit.captures import capture_lines, manifest, recording_order
from workers.billing import ModelTotals, Totals, turn_usage
from workers.stream_parser import ResultMessage, parse_line
from workers.token_tracker import TokenTracker

TOLERANCE = 0.01
SESSION = ["session_1", "session_2", "session_3", "session_4"]
COMPLETED = [*SESSION, "text", "tool", "resume", "huge", "interleave_a1", "interleave_b1",
             "interleave_a2", "sig_base", "after_sigint", "after_sigterm", "after_sigkill",
             "long_haiku"]


@dataclass(frozen=True)
class Billed:
    """A capture billed as the worker bills it, and what the simulator billed for it."""

    usage: UsageSummary
    baseline: Totals | None
    sim_usd: float
    sim_by_model: dict[str, dict[str, float]]


def _tracker(name: str) -> TokenTracker:
    tracker = TokenTracker()
    for line in capture_lines(name):
        msg = parse_line(line)
        if msg is not None:
            tracker.feed(msg)
    return tracker


def _session_id(name: str) -> str:
    tracker = _tracker(name)
    if tracker.result is not None:
        return tracker.result.session_id
    return next(str(d) for d in _init_ids(name))


def _init_ids(name: str) -> list[str]:
    import orjson

    return [orjson.loads(line)["session_id"] for line in capture_lines(name)
            if b'"subtype":"init"' in line]


@cache
def billed_captures() -> dict[str, Billed]:
    """Every capture in recording order, each Claude session's baseline carried along."""
    table, entries = load_price_table(), manifest()
    baselines: dict[tuple[str, str], Totals | None] = {}
    out: dict[str, Billed] = {}
    for name in recording_order():
        tracker = _tracker(name)
        key = (entries[name]["config"], _session_id(name))
        seen = tracker.requests()
        turn = turn_usage(baselines.get(key), result=tracker.result, seen=seen)
        if tracker.result is not None:
            baselines[key] = turn.baseline
        usage = billed_summary(
            by_model={m: t.tokens for m, t in turn.by_model.items()},
            claude_cost=None if turn.claude_cost_usd is None else {
                m: t.cost_usd for m, t in turn.by_model.items()},
            basis=turn.basis, partial=tracker.result is None, table=table, requests=seen)
        sim = entries[name]["billed"]
        out[name] = Billed(usage, turn.baseline, sim["total_usd"], sim["by_model"])
    return out


def close(a: float, b: float) -> bool:
    return abs(a - b) <= TOLERANCE * max(abs(b), 1e-9)


@pytest.mark.parametrize("name", [n for n in recording_order()])
def test_claude_code_cost_and_the_price_table_agree(name: str) -> None:
    usage = billed_captures()[name].usage
    assert not usage.unpriced_models
    assert usage.priced_cost_usd is not None
    if usage.claude_cost_usd is not None:
        assert close(usage.priced_cost_usd, usage.claude_cost_usd), usage


@pytest.mark.parametrize("name", COMPLETED)
def test_each_completed_turn_costs_what_the_simulator_billed(name: str) -> None:
    billed = billed_captures()[name]
    usage = billed.usage
    assert close(usage.total_cost_usd, billed.sim_usd), (usage.total_cost_usd, billed.sim_usd)
    assert usage.priced_cost_usd is not None and close(usage.priced_cost_usd, billed.sim_usd)
    assert set(usage.by_model) == set(billed.sim_by_model)
    for model, row in billed.sim_by_model.items():
        mine = usage.by_model[model]
        assert (mine.input_tokens, mine.output_tokens, mine.cache_creation_tokens,
                mine.cache_read_tokens) == (row["input_tokens"], row["output_tokens"],
                                            row["cache_creation_tokens"],
                                            row["cache_read_tokens"])
        assert close(mine.cost_usd, row["usd"])


def test_the_four_turn_session_is_billed_turn_by_turn_not_as_running_totals() -> None:
    captures = billed_captures()
    bases = [captures[n].usage.basis for n in SESSION]
    assert bases == ["first", "delta", "delta", "delta"]
    costs = [captures[n].usage.total_cost_usd for n in SESSION]
    reported = [_tracker(n).result.total_cost_usd for n in SESSION]  # type: ignore[union-attr]
    assert reported == sorted(reported) and reported[-1] > 3 * costs[0]  # running totals
    assert sum(costs) == pytest.approx(reported[-1], rel=1e-9)  # the same money, counted once


def test_tool_turn_of_four_api_calls_and_a_subagent_on_a_second_model() -> None:
    assert manifest()["session_2"]["billed"]["requests"] == 4
    subagent = billed_captures()["session_3"].usage
    assert sorted(subagent.by_model) == ["claude-haiku-5-5", "claude-opus-5-5"]
    # the token fields are the sums over models (result.usage leaves the subagent out)
    assert subagent.input_tokens == sum(m.input_tokens for m in subagent.by_model.values())
    own = _tracker("session_3").result
    assert own is not None and subagent.input_tokens > int(own.usage["input_tokens"])


def test_another_session_in_between_does_not_disturb_the_delta() -> None:
    captures = billed_captures()
    assert captures["interleave_a2"].usage.basis == "delta"
    assert captures["interleave_b1"].usage.basis == "first"
    assert close(captures["interleave_a2"].usage.total_cost_usd, captures["interleave_a2"].sim_usd)


def test_a_fresh_config_dir_bills_nothing_and_keeps_the_baseline() -> None:
    fresh = billed_captures()["fresh_config"]
    assert fresh.usage.basis == "first" and fresh.usage.total_cost_usd == 0 == fresh.sim_usd
    assert _tracker("fresh_config").result is not None


@pytest.mark.parametrize("signal", ["sigint", "sigterm", "sigkill"])
def test_an_interrupted_resumed_turn_is_counted_once_and_the_next_turn_is_whole(
        signal: str) -> None:
    captures = billed_captures()
    cut, after = captures[f"{signal}_resumed"], captures[f"after_{signal}"]
    sim_input = sum(r["input_tokens"] for r in cut.sim_by_model.values())
    assert cut.usage.input_tokens == sim_input and cut.usage.total_cost_usd > 0
    assert cut.usage.basis == ("delta" if signal == "sigint" else "stream")
    assert cut.usage.partial is (signal != "sigint")
    # the next turn is neither short of its own tokens nor holding the interrupted ones
    assert after.usage.basis == "delta"
    assert close(after.usage.total_cost_usd, after.sim_usd)
    assert after.usage.input_tokens == sum(r["input_tokens"] for r in after.sim_by_model.values())


def test_a_sigint_result_includes_the_turn_but_claude_code_does_not_persist_it() -> None:
    """Moving the baseline to a SIGINT result would lose the next turn's first tokens."""
    cut = _tracker("sigint_resumed").result
    after = _tracker("after_sigint").result
    base = _tracker("sig_base").result
    assert cut is not None and after is not None and base is not None
    inputs = [int(r.model_usage["claude-opus-5-5"]["inputTokens"]) for r in (base, cut, after)]
    own_after = int(after.usage["input_tokens"])
    assert inputs[2] == inputs[0] + own_after  # measured from the base, not from the SIGINT


def test_long_context_tier_applies_past_100k_prompt_tokens() -> None:
    usage = billed_captures()["long_haiku"].usage
    price = load_price_table().lookup("claude-haiku-5-5")
    assert price is not None and price.long_context is not None
    assert usage.cache_read_tokens > price.long_context.above_prompt_tokens
    base_rate = usage.cache_read_tokens * price.cache_read * 1e-6
    assert usage.priced_cost_usd is not None and usage.priced_cost_usd > 4 * base_rate


# ---------------------------------------------------------------- the rules, on made-up figures


def _result(by_model: dict[str, tuple[int, int, float]], *, own: int = 0,
            subtype: str = "success") -> ResultMessage:
    model_usage = {m: {"inputTokens": i, "outputTokens": o, "costUSD": c}
                   for m, (i, o, c) in by_model.items()}
    return ResultMessage(subtype=subtype, is_error=False, result="", usage={"input_tokens": own},
                         model_usage=model_usage, total_cost_usd=sum(c for *_, c in
                                                                    by_model.values()),
                         num_turns=1, duration_ms=1, session_id="s")


def _base(i: int, o: int, c: float) -> Totals:
    return {"m": ModelTotals(TokenCounts(input_tokens=i, output_tokens=o), c)}


def test_delta_of_running_totals() -> None:
    turn = turn_usage(_base(100, 10, 1.0), result=_result({"m": (150, 25, 1.6)}, own=50), seen={})
    assert turn.basis == "delta"
    assert turn.by_model["m"].tokens == TokenCounts(input_tokens=50, output_tokens=15)
    assert turn.claude_cost_usd == pytest.approx(0.6)
    assert turn.baseline is not None and turn.baseline["m"].tokens.input_tokens == 150


def test_a_counter_that_goes_down_is_a_reset() -> None:
    turn = turn_usage(_base(100, 10, 1.0), result=_result({"m": (30, 5, 0.2)}, own=30), seen={})
    assert turn.basis == "reset" and turn.by_model["m"].tokens.input_tokens == 30
    assert turn.baseline is not None and turn.baseline["m"].tokens.input_tokens == 30


def test_a_model_that_vanishes_from_the_totals_is_a_reset() -> None:
    base = {**_base(100, 10, 1.0), "other": ModelTotals(TokenCounts(input_tokens=5), 0.1)}
    turn = turn_usage(base, result=_result({"m": (150, 20, 1.5)}, own=50), seen={})
    assert turn.basis == "reset"


def test_a_difference_short_of_the_turns_own_tokens_is_a_reset() -> None:
    """Totals that restarted (another config dir) but are still above the old baseline."""
    turn = turn_usage(_base(100, 10, 1.0), result=_result({"m": (120, 30, 1.2)}, own=120),
                      seen={})
    assert turn.basis == "reset" and turn.by_model["m"].tokens.input_tokens == 120


def test_a_sigint_result_does_not_move_the_baseline() -> None:
    base = _base(100, 10, 1.0)
    turn = turn_usage(base, result=_result({"m": (140, 12, 1.3)},
                                           subtype="error_during_execution"), seen={})
    assert turn.basis == "delta" and turn.by_model["m"].tokens.input_tokens == 40
    assert turn.baseline == base


def test_no_result_counts_the_stream_and_keeps_the_baseline() -> None:
    base = _base(100, 10, 1.0)
    seen = {"m": [TokenCounts(input_tokens=7, output_tokens=1),
                  TokenCounts(input_tokens=9, output_tokens=3)]}
    turn = turn_usage(base, result=None, seen=seen)
    assert turn.basis == "stream" and turn.claude_cost_usd is None and turn.baseline == base
    assert turn.by_model["m"].tokens == TokenCounts(input_tokens=16, output_tokens=4)


def test_an_unknown_model_is_flagged_never_priced_at_zero() -> None:
    usage = billed_summary(by_model={"claude-nonesuch-9": TokenCounts(input_tokens=1000)},
                           claude_cost=None, basis="stream", partial=True,
                           table=load_price_table())
    assert usage.unpriced_models == ["claude-nonesuch-9"] and usage.priced_cost_usd is None
    assert usage.by_model["claude-nonesuch-9"].priced_cost_usd is None
