"""stream_parser on the recorded captures and on bad input."""

from __future__ import annotations

import orjson
import pytest

from tests.unit.captures import NAMES, capture_lines
from workers.stream_parser import (
    ApiRetry,
    AssistantMessage,
    MessageParseError,
    ParseStats,
    RateLimitEvent,
    ResultMessage,
    StreamEvent,
    SystemInit,
    SystemOther,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
    parse_line,
    parse_message,
)


def parse_all(name: str) -> tuple[list[object], ParseStats]:
    stats = ParseStats()
    return [parse_line(line, stats) for line in capture_lines(name)], stats


@pytest.mark.parametrize("name", NAMES)
def test_every_capture_line_is_typed(name: str) -> None:
    messages, stats = parse_all(name)
    assert stats.lines == len(messages) > 0
    assert (stats.non_json, stats.unknown, stats.malformed) == (0, 0, 0)
    assert all(m is not None for m in messages)
    # a --resume that finds no conversation (a fresh config dir) is one lone result line
    lone_result = len(messages) == 1 and isinstance(messages[0], ResultMessage)
    assert isinstance(messages[0], SystemInit) or lone_result


def test_init_and_result_fields() -> None:
    messages, _ = parse_all("text")
    init, result = messages[0], messages[-1]
    assert isinstance(init, SystemInit) and isinstance(result, ResultMessage)
    assert init.model == "claude-opus-5-5" and init.session_id == result.session_id
    assert sorted(init.tools) == ["Glob", "Grep", "Read"] and init.cwd.startswith("/")
    assert result.subtype == "success" and not result.is_error and result.num_turns == 1
    assert result.usage["output_tokens"] > 0 and result.total_cost_usd > 0
    assert result.model_usage["claude-opus-5-5"]["costUSD"] == result.total_cost_usd
    assert result.terminal_reason == "completed" and result.api_error_status is None


def test_stream_events_carry_their_message_id() -> None:
    messages, _ = parse_all("text")
    events = [m for m in messages if isinstance(m, StreamEvent)]
    start = next(e for e in events if e.kind == "message_start")
    assert start.message_id == start.event["message"]["id"]
    assert {e.message_id for e in events} == {start.message_id}
    assert any(e.event.get("delta", {}).get("type") == "text_delta" for e in events)


def test_tool_round_trip() -> None:
    messages, _ = parse_all("tool")
    uses = [b for m in messages if isinstance(m, AssistantMessage) for b in m.content
            if isinstance(b, ToolUseBlock)]
    results = [b for m in messages if isinstance(m, UserMessage) for b in m.content
               if isinstance(b, ToolResultBlock)]
    assert [u.name for u in uses] == ["Read"] and uses[0].input["file_path"].endswith("README.md")
    assert results[0].tool_use_id == uses[0].id and "Demo project" in str(results[0].content)
    user = next(m for m in messages if isinstance(m, UserMessage))
    assert user.tool_use_result["file"]["numLines"] == 5


def test_api_errors_retry_and_rate_limit() -> None:
    retry = next(m for m in parse_all("529")[0] if isinstance(m, ApiRetry))
    assert (retry.attempt, retry.max_retries, retry.error_status) == (1, 1, 529)
    assert retry.retry_delay_ms and retry.error == "overloaded"
    messages, _ = parse_all("429")
    event = next(m for m in messages if isinstance(m, RateLimitEvent))
    assert event.status == "rejected" and event.rate_limit_type == "five_hour"
    assert event.resets_at and event.resets_at > 1_700_000_000
    error = next(m for m in messages if isinstance(m, AssistantMessage))
    assert error.is_api_error and error.rate_limit_info and error.rate_limit_info["resetsAt"]
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.is_error
    assert (result.api_error_status, result.terminal_reason) == (429, "api_error")
    assert any(isinstance(m, SystemOther) and m.subtype == "status" for m in messages)


def test_cancel_ends_with_error_during_execution() -> None:
    result = parse_all("cancel")[0][-1]
    assert isinstance(result, ResultMessage)
    assert result.subtype == "error_during_execution"
    assert result.terminal_reason == "aborted_streaming"
    assert result.result == "" and result.model_usage


@pytest.mark.parametrize("line", [b"", b"   ", b"not json", b"[1, 2]", b'"text"', b"{broken",
                                  b"\xff\xfe"])
def test_garbage_is_counted_not_raised(line: bytes) -> None:
    stats = ParseStats()
    assert parse_line(line, stats) is None
    assert stats.parsed == 0


def test_unknown_and_malformed_lines() -> None:
    stats = ParseStats()
    assert parse_line(b'{"type": "tool_progress", "x": 1}', stats) is None
    assert parse_line(b'{"type": "assistant"}', stats) is None
    assert parse_line('{"type": "result"}', stats) is None
    assert (stats.unknown, stats.malformed, stats.by_type["assistant"]) == (1, 2, 1)
    with pytest.raises(MessageParseError) as info:
        parse_message({"type": "assistant", "message": {"content": []}})
    assert info.value.data["type"] == "assistant"


def test_unknown_block_types_are_kept_as_other() -> None:
    line = orjson.dumps({"type": "assistant", "message": {"id": "m1", "content": [
        {"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "hi"}]}})
    msg = parse_line(line)
    assert isinstance(msg, AssistantMessage)
    assert msg.content[1] == TextBlock("hi") and msg.content[0].type == "thinking"  # type: ignore[union-attr]


def test_a_multi_megabyte_line_parses() -> None:
    text = "x" * (12 * 1024 * 1024)
    line = orjson.dumps({"type": "user", "message": {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": text}]}})
    msg = parse_line(line)
    assert isinstance(msg, UserMessage) and len(msg.content[0].content) == len(text)  # type: ignore[union-attr,arg-type]


def test_huge_capture_has_a_two_megabyte_line() -> None:
    lines = capture_lines("huge")
    assert max(len(line) for line in lines) > 2_000_000
    assert isinstance(parse_line(max(lines, key=len)), ResultMessage | AssistantMessage)
