#!/usr/bin/env python3
"""Record the real claude binary's stream-json stdout against the simulator, one file per
scenario, into tests/data/captures/. Run it again after a Claude Code upgrade.

    .venv/bin/python scripts/record_captures.py [--only text,tool] [--out DIR]
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import orjson
import uvicorn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workers.simulator import create_app  # noqa: E402

CLAUDE = REPO / "node_modules" / ".bin" / "claude"
WORKDIR = Path("/tmp/wx-capture/workspace/demo")
GZIP_ABOVE = 3 * 1024 * 1024
README = (
    "# Demo project\n\nA WinDev demo project.\n"
    "The API key of the demo is sk-ant-demo-secret-0001.\n"
)


@dataclass(frozen=True)
class Capture:
    name: str
    prompt: str
    retries: int = 0
    oauth: bool = False
    signal: int | None = None
    resume_of: str | None = None


CAPTURES = (
    Capture("text", "Explain this project #sim:text"),
    Capture("tool", "Read README.md and summarise it #sim:tool"),
    Capture("401", "hello #sim:401"),
    Capture("429", "hello #sim:429", oauth=True),
    Capture("429_apikey", "hello #sim:429"),
    Capture("500", "hello #sim:500"),
    Capture("529", "hello #sim:529", retries=1),
    Capture("midfail", "Explain this project #sim:midfail", retries=2),
    Capture("huge", "Print everything #sim:huge"),
    Capture("cancel", "A long answer please #sim:slow", signal=signal.SIGINT),
    Capture("killed", "A long answer please #sim:slow", signal=signal.SIGKILL),
    Capture("resume", "And a second turn #sim:text", resume_of="text"),
)


def start_simulator() -> tuple[str, uvicorn.Server]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(chars_per_s=4000), log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def claude_env(base_url: str, config_dir: Path, cap: Capture) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE"))}
    env.update({
        "ANTHROPIC_BASE_URL": base_url,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CONFIG_DIR": str(config_dir),
        "CLAUDE_CODE_MAX_RETRIES": str(cap.retries),
    })
    if cap.oauth:
        env["CLAUDE_CODE_OAUTH_TOKEN"] = "sk-ant-oat01-simulated"
    else:
        env["ANTHROPIC_API_KEY"] = "sk-ant-sim-test"
    return env


def argv(cap: Capture, sessions: dict[str, str]) -> list[str]:
    args = [str(CLAUDE), "-p", "--output-format", "stream-json", "--verbose",
            "--include-partial-messages", "--tools", "Read", "Grep", "Glob",
            "--allowedTools", "Read", "Grep", "Glob", "--permission-mode", "dontAsk",
            "--disable-slash-commands"]
    if cap.resume_of:
        args.append(f"--resume={sessions[cap.resume_of]}")
    return [*args, "--", cap.prompt]


def run(cap: Capture, env: dict[str, str], sessions: dict[str, str]) -> tuple[bytes, int]:
    proc = subprocess.Popen(argv(cap, sessions), cwd=WORKDIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = bytearray()
    if cap.signal is not None:
        while b"text_delta" not in out:
            line = proc.stdout.readline()
            if not line:
                break
            out += line
        time.sleep(1.0)
        proc.send_signal(cap.signal)
    out += proc.stdout.read()
    return bytes(out), proc.wait(timeout=120)


def session_id(data: bytes) -> str | None:
    for line in data.splitlines():
        msg = orjson.loads(line)
        if msg.get("type") == "system" and msg.get("subtype") == "init":
            return str(msg["session_id"])
    return None


def write(out_dir: Path, name: str, data: bytes) -> Path:
    for stale in (out_dir / f"{name}.jsonl", out_dir / f"{name}.jsonl.gz"):
        stale.unlink(missing_ok=True)
    if len(data) > GZIP_ABOVE:
        path = out_dir / f"{name}.jsonl.gz"
        path.write_bytes(gzip.compress(data, mtime=0))
    else:
        path = out_dir / f"{name}.jsonl"
        path.write_bytes(data)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "tests" / "data" / "captures")
    parser.add_argument("--only", default="", help="comma-separated capture names")
    args = parser.parse_args()
    wanted = set(filter(None, args.only.split(",")))
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    (WORKDIR / "README.md").write_text(README)
    base_url, server = start_simulator()
    sessions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="wx-claude-config-") as config_dir:
        for cap in CAPTURES:
            if wanted and cap.name not in wanted and cap.name not in _needed_by(wanted):
                continue
            data, code = run(cap, claude_env(base_url, Path(config_dir), cap), sessions)
            sessions[cap.name] = session_id(data) or ""
            if not wanted or cap.name in wanted:
                path = write(args.out, cap.name, data)
                lines = data.count(b"\n")
                print(f"{cap.name:12} exit={code:<4} lines={lines:<5} -> {path}")
    server.should_exit = True


def _needed_by(wanted: set[str]) -> set[str]:
    return {c.resume_of for c in CAPTURES if c.name in wanted and c.resume_of}


if __name__ == "__main__":
    main()
