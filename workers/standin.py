"""A stand-in for the claude binary, for benchmarks and fault tests (`WX_CLAUDE_BIN`).

It prints one turn in Claude Code's stream-json shape (system init, the message's stream
events, the assistant line, the result line) without any API behind it: N text deltas at a
steady rate, each stamped with its emit time (`[k@<unix ns>]`), so a reader can tell which
deltas arrived, how late, and whether one came twice; the first also carries the process's
start time (`<start@<unix ns>>`, to the kernel's clock tick), so a reader can tell how long
the process took to be started. A directive in the prompt sets the
shape: `#standin:deltas=200,rate=50,chars=24` (the defaults; `stall=S` goes silent for S
seconds after the first delta, for the idle watchdog). SIGINT ends it as Claude
Code does, with a `result` line (`error_during_execution`) that carries the usage so far;
SIGTERM and SIGKILL end it with no result. Standard library only: it starts fast."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
import uuid
from typing import Any

MODEL = "claude-standin"
INPUT_TOKENS = 100
COST_PER_OUTPUT_TOKEN = 0.00001
_DIRECTIVE = re.compile(r"#standin:([\w=,.]+)")
_STAMP = re.compile(r"\[(\d+)@(\d+)\]")
_START = re.compile(r"<start@(\d+)>")
_DEFAULTS = {"deltas": 200.0, "rate": 50.0, "chars": 24.0, "stall": 0.0}


def shape(prompt: str) -> dict[str, float]:
    """deltas, rate (per second, 0 = as fast as it can) and chars (per delta) of a prompt."""
    found = dict(_DEFAULTS)
    match = _DIRECTIVE.search(prompt)
    for item in (match.group(1).split(",") if match else []):
        key, _, value = item.partition("=")
        if key in found and value:
            found[key] = float(value)
    return found


def stamps(text: str) -> list[tuple[int, int]]:
    """(delta index, emit time in ns) of every stamp in a text, in order."""
    return [(int(k), int(ns)) for k, ns in _STAMP.findall(text)]


def started_at(text: str) -> int | None:
    """The stand-in process's start time (unix ns) carried by an answer, if any."""
    found = _START.search(text)
    return int(found.group(1)) if found else None


def _process_start_ns() -> int:
    """When this process started, by the kernel's record (unix ns, to the clock tick)."""
    try:
        fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115
        since_boot = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        uptime = time.clock_gettime(time.CLOCK_BOOTTIME)
        return time.time_ns() - int((uptime - since_boot) * 1e9)
    except (OSError, ValueError, IndexError):
        return time.time_ns()


def _prompt(argv: list[str]) -> str:
    return argv[argv.index("--") + 1] if "--" in argv[:-1] else (argv[-1] if argv else "")


def _session(argv: list[str]) -> str:
    for arg in argv:
        if arg.startswith("--resume="):
            return arg.split("=", 1)[1]
    return str(uuid.uuid4())


class _Turn:
    def __init__(self, session_id: str, message_id: str) -> None:
        self.session_id = session_id
        self.message_id = message_id
        self.sent = 0
        self.text: list[str] = []
        self.started = time.monotonic()

    def emit(self, line: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def event(self, event: dict[str, Any]) -> None:
        self.emit({"type": "stream_event", "event": event, "session_id": self.session_id,
                   "parent_tool_use_id": None, "uuid": str(uuid.uuid4()),
                   "api_message_id": self.message_id})

    def usage(self) -> dict[str, int]:
        return {"input_tokens": INPUT_TOKENS, "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0, "output_tokens": self.sent}

    def result(self, *, aborted: bool) -> None:
        usage = self.usage()
        cost = self.sent * COST_PER_OUTPUT_TOKEN
        self.emit({
            "type": "result", "subtype": "error_during_execution" if aborted else "success",
            "is_error": aborted, "session_id": self.session_id, "num_turns": 1,
            "duration_ms": int((time.monotonic() - self.started) * 1000),
            "result": None if aborted else "".join(self.text), "total_cost_usd": cost,
            "terminal_reason": "aborted_streaming" if aborted else "completed",
            "usage": usage, "api_error_status": None,
            "modelUsage": {MODEL: {"inputTokens": usage["input_tokens"],
                                   "outputTokens": usage["output_tokens"],
                                   "cacheReadInputTokens": 0, "cacheCreationInputTokens": 0,
                                   "costUSD": cost}},
        })


def _sleep_unless(seconds: float, stop: Any) -> float:
    """Sleep up to `seconds`, waking early when `stop()`; the time slept."""
    start = time.monotonic()
    while time.monotonic() - start < seconds and not stop():
        time.sleep(0.05)
    return time.monotonic() - start


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--version" in argv:
        print("2.1.332 (stand-in)")
        return 0
    params = shape(_prompt(argv))
    interrupted = False

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True

    signal.signal(signal.SIGINT, on_sigint)
    turn = _Turn(_session(argv), f"msg_standin_{uuid.uuid4().hex[:20]}")
    turn.emit({"type": "system", "subtype": "init", "session_id": turn.session_id,
               "model": MODEL, "tools": ["Read"], "cwd": os.getcwd()})
    turn.event({"type": "message_start", "message": {
        "id": turn.message_id, "type": "message", "role": "assistant", "model": MODEL,
        "content": [], "usage": {**turn.usage(), "output_tokens": 1}}})
    turn.event({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}})
    pause = 1.0 / params["rate"] if params["rate"] > 0 else 0.0
    next_at = time.monotonic()
    for k in range(int(params["deltas"])):
        if interrupted:
            turn.result(aborted=True)
            return 130
        stamp = f"[{k}@{time.time_ns()}]"
        if k == 0:
            stamp = f"<start@{_process_start_ns()}>{stamp}"
        text = stamp + "." * max(0, int(params["chars"]) - len(stamp) - 1) + " "
        turn.text.append(text)
        turn.sent += 1
        turn.event({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": text}})
        next_at += pause
        if k == 0 and params["stall"]:
            next_at += _sleep_unless(params["stall"], lambda: interrupted)
        if (delay := next_at - time.monotonic()) > 0:
            time.sleep(delay)
    turn.emit({"type": "assistant", "session_id": turn.session_id, "parent_tool_use_id": None,
               "message": {"id": turn.message_id, "type": "message", "role": "assistant",
                           "model": MODEL, "content": [{"type": "text",
                                                        "text": "".join(turn.text)}],
                           "usage": {**turn.usage(), "output_tokens": 1}}})
    turn.event({"type": "content_block_stop", "index": 0})
    turn.event({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                "usage": {"output_tokens": turn.sent}})
    turn.event({"type": "message_stop"})
    turn.result(aborted=interrupted)
    return 130 if interrupted else 0


if __name__ == "__main__":
    raise SystemExit(main())
