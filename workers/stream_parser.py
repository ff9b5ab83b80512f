"""Type Claude Code's stream-json stdout lines (DESIGN §6): one `parse_line`, one
dataclass per line type. Unknown types and non-JSON lines give None and are counted;
nothing here raises on bad input."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

log = logging.getLogger(__name__)

JsonDict = dict[str, Any]


class MessageParseError(Exception):
    """A line of a known type lacks a field it must have."""

    def __init__(self, message: str, data: JsonDict | None = None) -> None:
        super().__init__(message, data)
        self.data = data or {}


@dataclass
class ParseStats:
    """What a parser saw: lines by type, and the ones it skipped."""

    lines: int = 0
    parsed: int = 0
    non_json: int = 0
    unknown: int = 0
    malformed: int = 0
    by_type: Counter[str] = field(default_factory=Counter)


# ---------------------------------------------------------------- content blocks


@dataclass(frozen=True)
class TextBlock:
    text: str


@dataclass(frozen=True)
class ToolUseBlock:
    id: str
    name: str
    input: JsonDict


@dataclass(frozen=True)
class ToolResultBlock:
    tool_use_id: str
    content: str | list[Any] | None
    is_error: bool = False


@dataclass(frozen=True)
class OtherBlock:
    type: str
    raw: JsonDict


ContentBlock = TextBlock | ToolUseBlock | ToolResultBlock | OtherBlock


# ---------------------------------------------------------------- messages


@dataclass(frozen=True)
class SystemInit:
    session_id: str
    model: str
    tools: list[str]
    cwd: str


@dataclass(frozen=True)
class ApiRetry:
    attempt: int
    max_retries: int
    retry_delay_ms: int | None
    error_status: int | None
    error: str


@dataclass(frozen=True)
class SystemOther:
    subtype: str
    raw: JsonDict


@dataclass(frozen=True)
class StreamEvent:
    """A raw Messages API event; `message_id` is the API message it belongs to."""

    event: JsonDict
    message_id: str | None

    @property
    def kind(self) -> str:
        return str(self.event.get("type", ""))


@dataclass(frozen=True)
class AssistantMessage:
    message_id: str
    model: str
    content: list[ContentBlock]
    usage: JsonDict
    stop_reason: str | None = None
    api_error_status: int | None = None
    rate_limit_info: JsonDict | None = None

    @property
    def is_api_error(self) -> bool:
        return self.api_error_status is not None


@dataclass(frozen=True)
class UserMessage:
    content: list[ContentBlock]
    tool_use_result: Any = None


@dataclass(frozen=True)
class RateLimitEvent:
    status: str
    resets_at: int | None
    rate_limit_type: str | None
    utilization: float | None = None


@dataclass(frozen=True)
class ResultMessage:
    subtype: str
    is_error: bool
    result: str
    usage: JsonDict
    model_usage: dict[str, JsonDict]
    total_cost_usd: float
    num_turns: int
    duration_ms: int
    session_id: str
    api_error_status: int | None = None
    terminal_reason: str | None = None
    errors: tuple[str, ...] = ()


CliMessage = (
    SystemInit | ApiRetry | SystemOther | StreamEvent | AssistantMessage | UserMessage
    | RateLimitEvent | ResultMessage
)


# ---------------------------------------------------------------- parsing


def parse_line(line: bytes | str, stats: ParseStats | None = None) -> CliMessage | None:
    """One stdout line to a typed message; None (counted in `stats`) when it is not one."""
    stats = stats if stats is not None else ParseStats()
    stats.lines += 1
    if not line.strip():
        return None
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        stats.non_json += 1
        return None
    if not isinstance(data, dict):
        stats.non_json += 1
        return None
    stats.by_type[str(data.get("type"))] += 1
    try:
        msg = parse_message(data)
    except MessageParseError as exc:
        stats.malformed += 1
        log.warning("skipped a malformed %s line: %s", data.get("type"), exc.args[0])
        return None
    if msg is None:
        stats.unknown += 1
    else:
        stats.parsed += 1
    return msg


def parse_message(data: JsonDict) -> CliMessage | None:
    """A decoded line to a typed message; None for unknown types; MessageParseError if malformed."""
    try:
        match data.get("type"):
            case "system":
                return _system(data)
            case "stream_event":
                return StreamEvent(event=_dict(data["event"]), message_id=_id_of(data))
            case "assistant":
                return _assistant(data)
            case "user":
                return UserMessage(_blocks(data["message"].get("content")),
                                   data.get("tool_use_result"))
            case "rate_limit_event":
                return _rate_limit(_dict(data["rate_limit_info"]))
            case "result":
                return _result(data)
            case _:
                return None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MessageParseError(f"{type(exc).__name__}: {exc}", data) from exc


def _dict(value: Any) -> JsonDict:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _id_of(data: JsonDict) -> str | None:
    if data.get("api_message_id"):
        return str(data["api_message_id"])
    message = data["event"].get("message")
    return str(message["id"]) if isinstance(message, dict) and "id" in message else None


def _system(data: JsonDict) -> CliMessage:
    match data.get("subtype"):
        case "init":
            return SystemInit(session_id=str(data["session_id"]), model=str(data["model"]),
                              tools=list(data.get("tools") or []), cwd=str(data.get("cwd", "")))
        case "api_retry":
            return ApiRetry(attempt=int(data["attempt"]), max_retries=int(data["max_retries"]),
                            retry_delay_ms=_opt_int(data.get("retry_delay_ms")),
                            error_status=_opt_int(data.get("error_status")),
                            error=str(data.get("error") or ""))
        case subtype:
            return SystemOther(subtype=str(subtype), raw=data)


def _block(raw: Any) -> ContentBlock:
    block = _dict(raw)
    match block.get("type"):
        case "text":
            return TextBlock(str(block["text"]))
        case "tool_use":
            return ToolUseBlock(str(block["id"]), str(block["name"]), _dict(block.get("input", {})))
        case "tool_result":
            return ToolResultBlock(str(block["tool_use_id"]), block.get("content"),
                                   bool(block.get("is_error", False)))
        case other:
            return OtherBlock(str(other), block)


def _blocks(content: Any) -> list[ContentBlock]:
    if isinstance(content, str):
        return [TextBlock(content)]
    return [_block(b) for b in content or []]


def _assistant(data: JsonDict) -> AssistantMessage:
    message = _dict(data["message"])
    params = data.get("api_error_params") or {}
    return AssistantMessage(
        message_id=str(message["id"]),
        model=str(message.get("model", "")),
        content=_blocks(message.get("content")),
        usage=dict(message.get("usage") or {}),
        stop_reason=message.get("stop_reason"),
        api_error_status=_opt_int(data.get("api_error_status")),
        rate_limit_info=params.get("rate_limit_info") if isinstance(params, dict) else None,
    )


def _rate_limit(info: JsonDict) -> RateLimitEvent:
    utilization = info.get("utilization")
    return RateLimitEvent(
        status=str(info["status"]),
        resets_at=_opt_int(info.get("resetsAt")),
        rate_limit_type=info.get("rateLimitType"),
        utilization=None if utilization is None else float(utilization),
    )


def _result(data: JsonDict) -> ResultMessage:
    return ResultMessage(
        subtype=str(data["subtype"]),
        is_error=bool(data.get("is_error", False)),
        result=str(data.get("result") or ""),
        usage=dict(data.get("usage") or {}),
        model_usage={str(k): dict(v) for k, v in (data.get("modelUsage") or {}).items()},
        total_cost_usd=float(data.get("total_cost_usd") or 0.0),
        num_turns=int(data.get("num_turns") or 0),
        duration_ms=int(data.get("duration_ms") or 0),
        session_id=str(data.get("session_id", "")),
        api_error_status=_opt_int(data.get("api_error_status")),
        terminal_reason=data.get("terminal_reason"),
        errors=tuple(str(e) for e in data.get("errors") or () if isinstance(e, str)),
    )


__all__ = [
    "ApiRetry", "AssistantMessage", "CliMessage", "ContentBlock", "MessageParseError",
    "OtherBlock", "ParseStats", "RateLimitEvent", "ResultMessage", "StreamEvent",
    "SystemInit", "SystemOther", "TextBlock", "ToolResultBlock", "ToolUseBlock",
    "UserMessage", "parse_line", "parse_message",
]
