"""TurnStream on the recorded captures, with the real guardrail sanitizer, and through
`wxrunner parse` as a subprocess."""

from __future__ import annotations

import itertools
import subprocess
from typing import Any

import orjson
import pytest

from app.errors import ErrorCode
from app.guardrail import Guardrail
from app.protocol import (
    AssistantChunkFrame,
    CancelledFrame,
    ErrorFrame,
    JobStartedFrame,
    ProgressFrame,
    RateLimitFrame,
    SessionEndFrame,
    ToolResultFrame,
    ToolUseFrame,
    UsageFrame,
    is_terminal,
)
from tests.helpers import VENV_BIN
from tests.unit.captures import (
    CAPTURE_WORKDIR,
    NAMES,
    capture_dicts,
    capture_lines,
    capture_path,
    expected_usage,
)
from workers.turn_frames import StopReason, TurnStream, stderr_tail

USAGE_KEYS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


def turn(max_chars: int = 8000) -> TurnStream:
    sanitizer = Guardrail().output_sanitizer(path_prefixes=[CAPTURE_WORKDIR])
    return TurnStream(job_id="job1", sanitizer=sanitizer, tool_result_max_chars=max_chars)


def replay(name: str, **finish: Any) -> tuple[TurnStream, list[Any]]:
    stream = turn()
    frames: list[Any] = []
    for line in capture_lines(name):
        frames += stream.feed_line(line)
    finish.setdefault("exit_code", 0 if stream.tracker.result else None)
    return stream, frames + stream.finish(**finish)


def shown_text(frames: list[Any]) -> str:
    """What a UI following the module's rule shows: text by message_id, `replaces` drops one."""
    by_id: dict[str, str] = {}
    for frame in frames:
        if isinstance(frame, AssistantChunkFrame):
            if frame.replaces:
                by_id.pop(frame.replaces, None)
            by_id[frame.message_id] = by_id.get(frame.message_id, "") + frame.content
    return "\n\n".join(by_id.values())


def result_text(name: str) -> str:
    return str(next(d for d in capture_dicts(name) if d["type"] == "result")["result"])


@pytest.mark.parametrize("name", NAMES)
def test_one_terminal_frame_last_with_the_capture_usage(name: str) -> None:
    stream, frames = replay(name)
    assert [is_terminal(f.type) for f in frames].count(True) == 1 and is_terminal(frames[-1].type)
    has_init = any(d["type"] == "system" and d.get("subtype") == "init"
                   for d in capture_dicts(name))  # none when --resume found no conversation
    first = frames[0]
    assert isinstance(first, JobStartedFrame) == has_init
    assert not isinstance(first, JobStartedFrame) or first.claude_session_id
    assert all(f.job_id == "job1" and f.seq == 0 for f in frames)
    usage, partial = expected_usage(name)
    last = frames[-1]
    summary = last.usage_summary if isinstance(last, SessionEndFrame) else last.usage
    assert summary.partial is partial and summary.model_dump(include=set(usage)) == usage
    assert stream.stats.parsed == stream.stats.lines


@pytest.mark.parametrize("name", ["text", "resume", "huge", "tool"])
def test_text_is_shown_once_and_matches_the_result(name: str) -> None:
    stream, frames = replay(name)
    expected = Guardrail().output_sanitizer(path_prefixes=[CAPTURE_WORKDIR]).sanitize(
        result_text(name))
    assert shown_text(frames).endswith(expected)
    assert stream.assistant_text.endswith(expected)
    assert frames[-1].result == expected


def test_midfail_retry_text_is_not_shown_twice() -> None:
    stream, frames = replay("midfail")
    chunks = [f for f in frames if isinstance(f, AssistantChunkFrame)]
    ids = list(dict.fromkeys(c.message_id for c in chunks))
    assert len(ids) == 2, "the failed attempt's deltas, then the retried message"
    retried = [c for c in chunks if c.message_id == ids[1]]
    assert retried[0].replaces == ids[0] and all(c.replaces is None for c in chunks[:-1])
    assert shown_text(frames) == result_text("midfail") == stream.assistant_text


def test_usage_frames_once_per_message_event_not_per_delta() -> None:
    _, frames = replay("tool")
    usage = [f for f in frames if isinstance(f, UsageFrame)]
    assert 2 <= len(usage) <= 4
    assert all(a.model_dump(include=set(USAGE_KEYS)) != b.model_dump(include=set(USAGE_KEYS))
               for a, b in itertools.pairwise(usage))
    final = frames[-1].usage_summary
    keys = set(USAGE_KEYS)
    assert usage[-1].model_dump(include=keys) == final.model_dump(include=keys)


def test_tool_frames_are_sanitized() -> None:
    _, frames = replay("tool")
    use = next(f for f in frames if isinstance(f, ToolUseFrame))
    result = next(f for f in frames if isinstance(f, ToolResultFrame))
    assert use.tool == "Read" and result.tool_use_id == use.tool_use_id and not result.is_error
    assert "sk-ant-" not in result.content and "[token]" in result.content
    assert not result.truncated
    assert "sk-ant-" not in orjson.dumps([f.model_dump(mode="json") for f in frames]).decode()


def test_tool_results_are_truncated() -> None:
    stream = turn(max_chars=20)
    frames = [f for line in capture_lines("tool") for f in stream.feed_line(line)]
    result = next(f for f in frames if isinstance(f, ToolResultFrame))
    assert result.truncated and len(result.content) == 20


def test_tool_use_input_is_sanitized_recursively() -> None:
    stream = turn()
    line = orjson.dumps({"type": "assistant", "message": {"id": "m1", "model": "x", "content": [
        {"type": "tool_use", "id": "t1", "name": "Grep",
         "input": {"pattern": "sk-ant-abc123", "paths": [f"{CAPTURE_WORKDIR}/src/a.py"]}}]}})
    frame = stream.feed_line(line)[0]
    assert isinstance(frame, ToolUseFrame)
    assert frame.input == {"pattern": "[token]", "paths": ["src/a.py"]}


def test_a_secret_split_across_deltas_is_hidden() -> None:
    stream = turn()
    lines = [{"type": "stream_event", "api_message_id": "m1",
              "event": {"type": "message_start", "message": {"id": "m1", "usage": {}}}}]
    lines += [{"type": "stream_event", "api_message_id": "m1", "event": {
        "type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}}
        for t in ("key: sk-a", "nt-abc", "def and more")]
    frames = [f for line in lines for f in stream.feed_line(orjson.dumps(line))]
    frames += stream.finish(exit_code=0)
    text = "".join(f.content for f in frames if isinstance(f, AssistantChunkFrame))
    assert text == "key: [token] and more"


def test_rate_limit_and_progress() -> None:
    _, frames = replay("429")
    limits = [f for f in frames if isinstance(f, RateLimitFrame)]
    assert len(limits) == 1 and limits[0].status == "rejected" and limits[0].resets_at
    assert limits[0].limit_type == "five_hour"
    end = frames[-1]
    assert isinstance(end, SessionEndFrame) and end.is_error and end.api_error_status == 429
    _, frames = replay("529")
    progress = next(f for f in frames if isinstance(f, ProgressFrame))
    assert progress.error_status == 529 and "retrying" in progress.message
    assert not any(isinstance(f, AssistantChunkFrame) for f in frames)


def test_cancel_timeout_and_failures() -> None:
    _, frames = replay("killed", stopped=StopReason.CANCEL)
    assert isinstance(frames[-1], CancelledFrame) and frames[-1].usage.partial
    _, frames = replay("killed", stopped=StopReason.IDLE)
    assert isinstance(frames[-1], ErrorFrame) and frames[-1].code == ErrorCode.TIMEOUT
    _, frames = replay("killed", stopped=StopReason.TIME_LIMIT)
    assert isinstance(frames[-1], ErrorFrame) and frames[-1].code == ErrorCode.TIMEOUT
    _, frames = replay("killed", stopped=StopReason.SHUTDOWN)
    assert isinstance(frames[-1], ErrorFrame) and frames[-1].code == ErrorCode.WORKER_SHUTDOWN
    # A stop that comes after the answer finished does not make it an error.
    _, frames = replay("text", exit_code=0, stopped=StopReason.SHUTDOWN)
    assert isinstance(frames[-1], SessionEndFrame) and not frames[-1].is_error
    _, frames = replay("killed", exit_code=-9, stderr="boom\nAPI_KEY=sk-ant-xyz123 failed\n")
    end = frames[-1]
    assert isinstance(end, ErrorFrame) and end.code == ErrorCode.CLAUDE_ERROR
    assert "-9" in end.message and "sk-ant" not in end.message and end.usage and end.usage.partial
    empty = turn().finish(exit_code=None, stderr="")
    assert len(empty) == 1 and empty[0].code == ErrorCode.EXECUTOR_FAILED


def test_garbage_between_lines_changes_nothing() -> None:
    clean = [f.model_dump(exclude={"ts"}) for f in replay("tool")[1]]
    stream = turn()
    frames: list[Any] = []
    for line in capture_lines("tool"):
        for junk in (b"", b"garbage", b'{"type": "future_thing"}', b'{"type": "assistant"}'):
            frames += stream.feed_line(junk)
        frames += stream.feed_line(line)
    frames += stream.finish(exit_code=0)
    assert [f.model_dump(exclude={"ts"}) for f in frames] == clean
    assert stream.stats.unknown > 0 and stream.stats.malformed > 0 and stream.stats.non_json > 0


def test_stderr_tail_is_short_and_masked() -> None:
    tail = stderr_tail("x" * 50_000 + "\nError: token=abc123\nAuthorization: Bearer zz\n")
    assert len(tail) <= 401 and "abc123" not in tail and "zz" not in tail


@pytest.mark.parametrize("name", ["text", "huge", "killed", "midfail"])
def test_wxrunner_parse(name: str) -> None:
    out = subprocess.run(
        [str(VENV_BIN / "wxrunner"), "parse", str(capture_path(name)),
         "--workdir", CAPTURE_WORKDIR], capture_output=True, check=True, timeout=60).stdout
    frames = [orjson.loads(line) for line in out.splitlines()]
    assert [f["seq"] for f in frames] == list(range(1, len(frames) + 1))
    assert [is_terminal(f["type"]) for f in frames].count(True) == 1
    last = frames[-1]
    usage, partial = expected_usage(name)
    summary = last["usage_summary"] if last["type"] == "session_end" else last["usage"]
    assert {k: summary[k] for k in usage} == usage and summary["partial"] is partial


def test_wxrunner_parse_reads_stdin() -> None:
    data = b"\n".join(capture_lines("text"))
    out = subprocess.run([str(VENV_BIN / "wxrunner"), "parse", "-"], input=data,
                         capture_output=True, check=True, timeout=60).stdout
    assert orjson.loads(out.splitlines()[-1])["type"] == "session_end"
