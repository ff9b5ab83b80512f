"""One turn's claude stdout lines to protocol frames (DESIGN §4, §6).

Text rules, for the UI and chat history:
* Text streams as `assistant_chunk` frames from `text_delta` stream events, keyed by
  the API `message_id`; the UI appends chunks to the bubble of that message_id. The
  full text repeated on `assistant` lines is not sent again.
* A message whose text never streamed (Claude Code's retry without streaming after a
  mid-stream API failure, or partial messages turned off) is sent whole from its
  `assistant` lines, once per text block.
* The failed attempt's deltas were already sent under the old message_id. The first
  chunk of the retried message carries `replaces=<old message_id>`: the UI removes
  that message's text, so the answer is shown exactly once. An attempt counts as
  failed when its stream ended without a `message_delta` carrying a stop_reason.
* `assistant_text` (for chat history) holds each message's text, without failed
  attempts.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from app.errors import ErrorCode
from app.protocol import (
    AssistantChunkFrame,
    CancelledFrame,
    ErrorFrame,
    JobStartedFrame,
    ProgressFrame,
    RateLimitFrame,
    ServerFrame,
    SessionEndFrame,
    ToolResultFrame,
    ToolUseFrame,
    UsageFrame,
    UsageSummary,
)
from workers.stream_parser import (
    ApiRetry,
    AssistantMessage,
    CliMessage,
    ParseStats,
    RateLimitEvent,
    StreamEvent,
    SystemInit,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UserMessage,
    parse_line,
)
from workers.token_tracker import TokenTracker

if TYPE_CHECKING:
    from app.guardrail import OutputSanitizer, StreamSanitizer

_STDERR_TAIL_CHARS = 400


class StopReason(StrEnum):
    """Why the runner stopped claude before it ended on its own."""

    CANCEL = "cancel"  # the user's stop
    IDLE = "idle"  # no output for turn_idle_timeout_s
    TIME_LIMIT = "time_limit"  # the queue's time limit
    SHUTDOWN = "shutdown"  # the worker's warm shutdown ran out of grace


_STOPPED: dict[StopReason, tuple[ErrorCode, str]] = {
    StopReason.IDLE: (ErrorCode.TIMEOUT, "Claude Code produced no output for too long; the "
                                         "turn was stopped."),
    StopReason.TIME_LIMIT: (ErrorCode.TIMEOUT, "The turn ran past its time limit and was "
                                               "stopped."),
    StopReason.SHUTDOWN: (ErrorCode.WORKER_SHUTDOWN, "The worker was shut down while this turn "
                          "ran; the turn was stopped and its usage kept. Send the message "
                          "again to continue."),
}
_SECRETISH = re.compile(
    r"(?i)\b(api[_-]?key|token|secret|password|authorization|bearer)\b(\s*[:=]?\s*)"
    r"(?:bearer\s+)?\S+")


class _Message:
    """What was seen of one API message."""

    def __init__(self, message_id: str) -> None:
        self.id = message_id
        self.streamed = False  # text deltas were sent
        self.finished = False  # a message_delta with a stop_reason arrived
        self.complete_text: list[str] = []  # text blocks from assistant lines
        self.streamed_text: list[str] = []
        self.stream: StreamSanitizer | None = None


class TurnStream:
    """Turns one turn's claude stdout lines into protocol frames (seq left at 0: the
    publisher assigns it)."""

    def __init__(
        self, *, job_id: str, sanitizer: OutputSanitizer, tool_result_max_chars: int
    ) -> None:
        self.job_id = job_id
        self._san = sanitizer
        self._max_tool_chars = tool_result_max_chars
        self.stats = ParseStats()
        self.tracker = TokenTracker()
        self.claude_session_id: str | None = None
        self.model: str | None = None
        self._messages: dict[str, _Message] = {}
        self._current: str | None = None
        self._tool_ids: set[str] = set()
        self._last_rate: tuple[Any, ...] | None = None
        self._saw_output = False
        self._superseded_ids: set[str] = set()

    # ------------------------------------------------------------ public

    @property
    def usage_summary(self) -> UsageSummary:
        return self.tracker.summary()

    @property
    def assistant_text(self) -> str:
        """The full sanitized answer, for chat history."""
        parts = []
        for msg in self._messages.values():
            if self._superseded(msg):
                continue
            text = "".join(msg.complete_text) or "".join(msg.streamed_text)
            if text:
                parts.append(text)
        return "\n\n".join(parts)

    def feed_line(self, line: bytes) -> list[ServerFrame]:
        """Frames for one stdout line (often none)."""
        msg = parse_line(line, self.stats)
        if msg is None:
            return []
        self._saw_output = True
        changed = self.tracker.feed(msg)
        frames = self._frames_for(msg)
        if changed and self._usage_point(msg):
            frames.append(UsageFrame(job_id=self.job_id, **self.tracker.running.model_dump()))
        return frames

    @property
    def skipped_lines(self) -> dict[str, int]:
        """Lines read but not used, by reason (for the metrics)."""
        return {"non_json": self.stats.non_json, "unknown": self.stats.unknown,
                "malformed": self.stats.malformed}

    @property
    def resume_not_found(self) -> bool:
        """Claude Code could not resume the session (its config dir does not have it: another
        host, a new volume) and ended at once, before doing anything."""
        result = self.tracker.result
        return (result is not None and self.claude_session_id is None
                and any("No conversation found" in e for e in result.errors))

    @property
    def completed(self) -> bool:
        """Claude Code reported a finished answer (its result line, without an error)."""
        result = self.tracker.result
        return result is not None and result.subtype == "success" and not result.is_error

    def finish(self, *, exit_code: int | None, stderr: str = "",
               stopped: StopReason | None = None) -> list[ServerFrame]:
        """Held-back text, then exactly one terminal frame, last. A finished answer ends
        with `session_end` even if a stop came after it."""
        frames: list[ServerFrame] = []
        for msg in self._messages.values():
            frames += self._flush(msg)
        frames.append(self._terminal(exit_code, stderr, None if self.completed else stopped))
        return frames

    # ------------------------------------------------------------ per message type

    def _frames_for(self, msg: CliMessage) -> list[ServerFrame]:
        match msg:
            case SystemInit():
                return self._started(msg)
            case StreamEvent():
                return self._stream_event(msg)
            case AssistantMessage():
                return self._assistant(msg)
            case UserMessage():
                return self._tool_results(msg)
            case ApiRetry():
                return [self._progress(msg)]
            case RateLimitEvent():
                return self._rate_limit(msg.status, msg.resets_at, msg.rate_limit_type)
        return []

    @staticmethod
    def _usage_point(msg: CliMessage) -> bool:
        if isinstance(msg, StreamEvent):
            return msg.kind in ("message_start", "message_delta")
        return isinstance(msg, AssistantMessage)

    def _started(self, msg: SystemInit) -> list[ServerFrame]:
        if self.claude_session_id is not None:
            return []
        self.claude_session_id, self.model = msg.session_id, msg.model
        return [JobStartedFrame(job_id=self.job_id, model=msg.model,
                                claude_session_id=msg.session_id)]

    def _message(self, message_id: str) -> _Message:
        if message_id not in self._messages:
            self._messages[message_id] = _Message(message_id)
        return self._messages[message_id]

    def _stream_event(self, ev: StreamEvent) -> list[ServerFrame]:
        mid = ev.message_id or self._current
        if mid is None:
            return []
        msg = self._message(mid)
        self._current = mid
        delta = ev.event.get("delta") or {}
        if ev.kind == "content_block_delta" and delta.get("type") == "text_delta":
            return self._delta(msg, str(delta.get("text", "")))
        if ev.kind == "message_delta" and delta.get("stop_reason"):
            msg.finished = True
        if ev.kind in ("content_block_stop", "message_stop"):
            return self._flush(msg)
        return []

    def _delta(self, msg: _Message, text: str) -> list[ServerFrame]:
        msg.streamed = True
        if msg.stream is None:
            msg.stream = self._san.stream()
        return self._chunk(msg, msg.stream.feed(text))

    def _flush(self, msg: _Message) -> list[ServerFrame]:
        if msg.stream is None:
            return []
        out, msg.stream = msg.stream.flush(), None
        return self._chunk(msg, out)

    def _chunk(self, msg: _Message, text: str, replaces: str | None = None) -> list[ServerFrame]:
        if not text:
            return []
        msg.streamed_text.append(text)
        return [AssistantChunkFrame(job_id=self.job_id, content=text, message_id=msg.id,
                                    replaces=replaces)]

    def _assistant(self, am: AssistantMessage) -> list[ServerFrame]:
        if am.rate_limit_info:
            info = am.rate_limit_info
            return self._rate_limit(str(info.get("status", "rejected")), info.get("resetsAt"),
                                    info.get("rateLimitType"))
        if am.is_api_error:
            return []  # Claude Code's error text; the result line carries it
        msg = self._message(am.message_id)
        frames: list[ServerFrame] = []
        for block in am.content:
            if isinstance(block, TextBlock):
                frames += self._assistant_text(msg, block.text)
            elif isinstance(block, ToolUseBlock) and block.id not in self._tool_ids:
                self._tool_ids.add(block.id)
                frames.append(ToolUseFrame(job_id=self.job_id, tool=block.name,
                                           input=self._san.sanitize_value(block.input),
                                           tool_use_id=block.id))
        return frames

    def _assistant_text(self, msg: _Message, text: str) -> list[ServerFrame]:
        clean = self._san.sanitize(text)
        msg.complete_text.append(clean)
        if msg.streamed:
            return []
        failed = self._failed_attempt(msg)
        if failed is not None:
            self._superseded_ids.add(failed.id)
        return self._chunk(msg, clean, replaces=failed.id if failed else None)

    def _failed_attempt(self, msg: _Message) -> _Message | None:
        """The latest earlier message that streamed text but never finished, if any."""
        earlier = [m for m in self._messages.values() if m is not msg]
        for cand in reversed(earlier):
            if cand.streamed and not cand.finished and cand.id not in self._superseded_ids:
                return cand
        return None

    def _superseded(self, msg: _Message) -> bool:
        return msg.id in self._superseded_ids

    def _tool_results(self, um: UserMessage) -> list[ServerFrame]:
        frames: list[ServerFrame] = []
        for block in um.content:
            if isinstance(block, ToolResultBlock):
                text = self._san.sanitize(flatten_tool_content(block.content))
                cut = len(text) > self._max_tool_chars
                frames.append(ToolResultFrame(
                    job_id=self.job_id, tool_use_id=block.tool_use_id, is_error=block.is_error,
                    content=text[: self._max_tool_chars], truncated=cut))
        return frames

    def _progress(self, r: ApiRetry) -> ProgressFrame:
        delay = f" in {r.retry_delay_ms / 1000:.1f} s" if r.retry_delay_ms is not None else ""
        status = f" {r.error_status}" if r.error_status is not None else ""
        message = (f"Claude API error{status} ({r.error or 'error'}); retrying{delay} "
                   f"(attempt {r.attempt} of {r.max_retries})")
        return ProgressFrame(job_id=self.job_id, attempt=r.attempt, max_retries=r.max_retries,
                             retry_delay_ms=r.retry_delay_ms, error_status=r.error_status,
                             message=message)

    def _rate_limit(self, status: str, resets_at: Any, limit_type: Any) -> list[ServerFrame]:
        key = (status, resets_at, limit_type)
        if key == self._last_rate:
            return []
        self._last_rate = key
        return [RateLimitFrame(job_id=self.job_id, status=status,
                               resets_at=None if resets_at is None else int(resets_at),
                               limit_type=None if limit_type is None else str(limit_type))]

    # ------------------------------------------------------------ the end

    def _terminal(self, exit_code: int | None, stderr: str,
                  stopped: StopReason | None) -> ServerFrame:
        usage = self.usage_summary
        if stopped == StopReason.CANCEL:
            return CancelledFrame(job_id=self.job_id, usage=usage)
        if stopped is not None:
            code, message = _STOPPED[stopped]
            return ErrorFrame(job_id=self.job_id, code=code, usage=usage, message=message)
        result = self.tracker.result
        if result is not None:
            return SessionEndFrame(
                job_id=self.job_id, total_cost_usd=result.total_cost_usd, usage_summary=usage,
                duration_ms=result.duration_ms, num_turns=result.num_turns,
                is_error=result.is_error, result=self._san.sanitize(result.result),
                subtype=result.subtype, api_error_status=result.api_error_status,
                terminal_reason=result.terminal_reason)
        code = ErrorCode.EXECUTOR_FAILED if exit_code is None and not self._saw_output \
            else ErrorCode.CLAUDE_ERROR
        return ErrorFrame(job_id=self.job_id, code=code, usage=usage,
                          message=self._failure_message(exit_code, stderr),
                          details={"exit_code": exit_code})

    def _failure_message(self, exit_code: int | None, stderr: str) -> str:
        head = ("Claude Code ended without a result" if exit_code is None
                else f"Claude Code exited with code {exit_code} without a result")
        tail = stderr_tail(stderr)
        return f"{head}: {self._san.sanitize(tail)}" if tail else f"{head}."


def stderr_tail(stderr: str, limit: int = _STDERR_TAIL_CHARS) -> str:
    """The last lines of stderr, short and with secret-looking values masked."""
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    tail = " | ".join(lines[-3:])
    tail = _SECRETISH.sub(lambda m: f"{m.group(1)}{m.group(2)}[redacted]", tail)
    return tail if len(tail) <= limit else "…" + tail[-limit:]


def flatten_tool_content(content: str | list[Any] | None) -> str:
    """A tool_result's content as plain text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for item in content:
        if isinstance(item, dict) and item.get("type") == "text":
            parts.append(str(item.get("text", "")))
        elif isinstance(item, dict):
            parts.append(f"[{item.get('type', 'content')}]")
        else:
            parts.append(str(item))
    return "\n".join(parts)


__all__ = ["StopReason", "TurnStream", "flatten_tool_content", "stderr_tail"]
