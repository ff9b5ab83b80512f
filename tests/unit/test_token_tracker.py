"""TokenTracker: dedupe by message id, final figures from `result`, partial without it."""

from __future__ import annotations

import orjson
import pytest

from tests.unit.captures import NAMES, capture_lines, expected_usage
from workers.stream_parser import parse_line
from workers.token_tracker import TokenTracker

START_USAGE = {"input_tokens": 10, "cache_creation_input_tokens": 300,
               "cache_read_input_tokens": 4000, "output_tokens": 1}


def feed(tracker: TokenTracker, *lines: dict[str, object]) -> list[bool]:
    changed = []
    for line in lines:
        msg = parse_line(orjson.dumps(line))
        assert msg is not None
        changed.append(tracker.feed(msg))
    return changed


def assistant(mid: str, block: dict[str, object]) -> dict[str, object]:
    return {"type": "assistant", "message": {"id": mid, "model": "claude-x", "content": [block],
                                             "usage": START_USAGE}}


def stream(event: dict[str, object], mid: str) -> dict[str, object]:
    return {"type": "stream_event", "event": event, "api_message_id": mid}


def test_assistant_lines_of_one_message_count_once() -> None:
    tracker = TokenTracker()
    changed = feed(
        tracker,
        stream({"type": "message_start", "message": {"id": "m1", "model": "claude-x",
                                                     "usage": START_USAGE}}, "m1"),
        assistant("m1", {"type": "text", "text": "a"}),
        assistant("m1", {"type": "tool_use", "id": "t1", "name": "Read", "input": {}}),
        assistant("m1", {"type": "text", "text": "b"}),
        stream({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": 57}}, "m1"),
    )
    assert changed == [True, False, False, False, True]
    running = tracker.running
    assert (running.input_tokens, running.output_tokens) == (10, 57)
    assert (running.cache_creation_tokens, running.cache_read_tokens) == (300, 4000)
    summary = tracker.summary()
    assert summary.partial and summary.by_model["claude-x"].output_tokens == 57


def test_assistant_placeholder_never_lowers_the_delta_count() -> None:
    tracker = TokenTracker()
    feed(tracker,
         stream({"type": "message_delta", "delta": {}, "usage": {"output_tokens": 40}}, "m1"),
         assistant("m1", {"type": "text", "text": "late"}))
    assert tracker.running.output_tokens == 40 and tracker.running.input_tokens == 10


def test_two_messages_add_up() -> None:
    tracker = TokenTracker()
    feed(tracker, assistant("m1", {"type": "text", "text": "a"}),
         assistant("m2", {"type": "text", "text": "b"}))
    assert tracker.running.input_tokens == 20 and tracker.running.total_tokens == 2 * 4311


@pytest.mark.parametrize("name", NAMES)
def test_summary_matches_the_capture(name: str) -> None:
    tracker = TokenTracker()
    for line in capture_lines(name):
        msg = parse_line(line)
        if msg is not None:
            tracker.feed(msg)
    usage, partial = expected_usage(name)
    summary = tracker.summary()
    assert summary.partial is partial
    assert summary.model_dump(include=set(usage)) == usage
    if not partial:
        assert tracker.result is not None
        assert summary.total_cost_usd == tracker.result.total_cost_usd
        assert set(summary.by_model) == set(tracker.result.model_usage)


def test_live_totals_equal_the_result_on_a_tool_round_trip() -> None:
    tracker = TokenTracker()
    for line in capture_lines("tool"):
        msg = parse_line(line)
        if msg is not None:
            tracker.feed(msg)
    final = tracker.summary()
    running = tracker.running.model_dump()
    assert running == final.model_dump(include=set(running))
    model = final.by_model["claude-opus-5-5"]
    assert model.output_tokens == final.output_tokens and model.cost_usd > 0


def test_cancel_takes_tokens_from_model_usage() -> None:
    tracker = TokenTracker()
    for line in capture_lines("cancel"):
        msg = parse_line(line)
        if msg is not None:
            tracker.feed(msg)
    assert tracker.result is not None and not any(
        tracker.result.usage[k] for k in ("input_tokens", "output_tokens"))
    summary = tracker.summary()
    assert summary.input_tokens > 0 and summary.output_tokens > 0 and not summary.partial


def test_killed_is_partial_and_deduped() -> None:
    tracker = TokenTracker()
    for line in capture_lines("killed"):
        msg = parse_line(line)
        if msg is not None:
            tracker.feed(msg)
    summary = tracker.summary()
    assert summary.partial and summary.total_cost_usd == 0.0
    assert summary.input_tokens == 33 and summary.cache_creation_tokens == 1200
