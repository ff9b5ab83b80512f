"""The recorded claude stdout captures (tests/data/captures), and what their usage must be."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import orjson

CAPTURES_DIR = Path(__file__).resolve().parent.parent / "data" / "captures"
CAPTURE_WORKDIR = "/tmp/wx-capture/workspace/demo"  # scripts/record_captures.py's cwd
NAMES = sorted(p.name.split(".")[0] for p in CAPTURES_DIR.glob("*.jsonl*"))
_API = {"input_tokens": "input_tokens", "output_tokens": "output_tokens",
        "cache_creation_input_tokens": "cache_creation_tokens",
        "cache_read_input_tokens": "cache_read_tokens"}
_MODEL = {"inputTokens": "input_tokens", "outputTokens": "output_tokens",
          "cacheCreationInputTokens": "cache_creation_tokens",
          "cacheReadInputTokens": "cache_read_tokens"}


def capture_path(name: str) -> Path:
    plain = CAPTURES_DIR / f"{name}.jsonl"
    return plain if plain.exists() else CAPTURES_DIR / f"{name}.jsonl.gz"


def capture_lines(name: str) -> list[bytes]:
    path = capture_path(name)
    data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    return data.splitlines()


def capture_dicts(name: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in capture_lines(name)]


def expected_usage(name: str) -> tuple[dict[str, int], bool]:
    """The turn's usage computed straight from the capture, and whether it is partial."""
    lines = capture_dicts(name)
    results = [d for d in lines if d["type"] == "result"]
    if results:
        result = results[-1]
        usage = {ours: int(result["usage"][theirs]) for theirs, ours in _API.items()}
        if not any(usage.values()) and result.get("modelUsage"):
            usage = {ours: sum(int(m[theirs]) for m in result["modelUsage"].values())
                     for theirs, ours in _MODEL.items()}
        return usage, False
    seen: dict[str, dict[str, int]] = {}
    for d in lines:
        if d["type"] == "stream_event" and d["event"]["type"] in ("message_start",
                                                                 "message_delta"):
            mid = d["api_message_id"]
            raw = d["event"].get("usage") or d["event"].get("message", {}).get("usage", {})
        elif d["type"] == "assistant":
            mid, raw = d["message"]["id"], d["message"]["usage"]
        else:
            continue
        entry = seen.setdefault(mid, dict.fromkeys(_API.values(), 0))
        for theirs, ours in _API.items():
            entry[ours] = max(entry[ours], int(raw.get(theirs) or 0))
    return {k: sum(e[k] for e in seen.values()) for k in _API.values()}, True


def manifest() -> dict[str, Any]:
    """How each capture was recorded (resumed turn, config dir, signal, exit code) and what
    the simulator billed for it (scripts/record_captures.py)."""
    data: dict[str, Any] = orjson.loads((CAPTURES_DIR / "manifest.json").read_bytes())
    return data


def recording_order() -> list[str]:
    entries = manifest()
    return sorted(entries, key=lambda name: entries[name]["order"])
