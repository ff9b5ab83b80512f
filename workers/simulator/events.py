"""Turn a scenario `Plan` into Messages API answers: SSE events or one JSON message."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import orjson

from workers.simulator.scenarios import ERRORS, Block, Plan

_TICK_S = 0.03
_MIDFAIL_FRACTION = 0.4


@dataclass
class Meter:
    """What one streamed answer has sent so far: what the API bills when a client leaves."""

    chars: int = 0  # text and tool-input characters sent
    finished: bool = False  # the message_delta with the final usage was sent


def message_id() -> str:
    return "msg_sim_" + secrets.token_hex(10)


def error_body(status: int, message: str | None = None) -> dict[str, Any]:
    """Anthropic's error JSON shape."""
    kind, default = ERRORS.get(status, ("api_error", "error"))
    return {
        "type": "error",
        "error": {"type": kind, "message": message or default},
        "request_id": "req_sim_" + secrets.token_hex(8),
    }


def _block_start(block: Block) -> dict[str, Any]:
    if block.kind == "text":
        return {"type": "text", "text": ""}
    return {"type": "tool_use", "id": block.tool_use_id, "name": block.tool, "input": {}}


def _block_full(block: Block) -> dict[str, Any]:
    if block.kind == "text":
        return {"type": "text", "text": block.text}
    return {"type": "tool_use", "id": block.tool_use_id, "name": block.tool,
            "input": block.tool_input}


def full_message(plan: Plan, model: str) -> dict[str, Any]:
    """The non-streaming answer."""
    return {
        "id": message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [_block_full(b) for b in plan.blocks],
        "stop_reason": plan.stop_reason,
        "stop_sequence": None,
        "usage": dict(plan.usage),
    }


def sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _chunks(text: str, rate: float) -> tuple[list[str], float]:
    """Split text into deltas, and the pause between two of them."""
    if rate <= 0:
        size = 65536
        return [text[i:i + size] for i in range(0, len(text), size)] or [""], 0.0
    size = max(4, int(rate * _TICK_S))
    return [text[i:i + size] for i in range(0, len(text), size)] or [""], size / rate


async def stream_message(plan: Plan, model: str, rate: float,
                         meter: Meter | None = None) -> AsyncIterator[bytes]:
    """The streaming answer; a `midfail` plan breaks off with an `error` event."""
    meter = meter if meter is not None else Meter()
    start_usage = {**plan.usage, "output_tokens": 1}
    yield sse("message_start", {"type": "message_start", "message": {
        "id": message_id(), "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}})
    yield sse("ping", {"type": "ping"})
    pace = plan.chars_per_s if plan.chars_per_s is not None else rate
    for index, block in enumerate(plan.blocks):
        yield sse("content_block_start", {"type": "content_block_start", "index": index,
                                          "content_block": _block_start(block)})
        async for chunk in _deltas(plan, block, index, pace, meter):
            yield chunk
        if plan.midfail:
            return
        if plan.stall_s:
            await asyncio.sleep(plan.stall_s)
        yield sse("content_block_stop", {"type": "content_block_stop", "index": index})
    meter.finished = True
    yield sse("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": plan.stop_reason, "stop_sequence": None},
                                "usage": {"output_tokens": plan.usage["output_tokens"]}})
    yield sse("message_stop", {"type": "message_stop"})


async def _deltas(plan: Plan, block: Block, index: int, pace: float,
                  meter: Meter) -> AsyncIterator[bytes]:
    if block.kind == "tool_use":
        raw = orjson.dumps(block.tool_input).decode()
        for part in (raw[: len(raw) // 2], raw[len(raw) // 2:]):
            meter.chars += len(part)
            yield sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                              "delta": {"type": "input_json_delta",
                                                        "partial_json": part}})
        return
    chunks, pause = _chunks(block.text, pace)
    stop_at = max(1, int(len(chunks) * _MIDFAIL_FRACTION)) if plan.midfail else len(chunks)
    for chunk in chunks[:stop_at]:
        meter.chars += len(chunk)
        yield sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                          "delta": {"type": "text_delta", "text": chunk}})
        if pause:
            await asyncio.sleep(pause)
    if plan.midfail:
        yield sse("error", error_body(529, "Overloaded (simulated mid-stream failure)"))
