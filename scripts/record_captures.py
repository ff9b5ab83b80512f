#!/usr/bin/env python3
"""Record the real claude binary's stream-json stdout against the simulator, one file per
scenario, into tests/data/captures/, and beside them manifest.json: how each capture was made
(the turn it resumes, its config dir, the signal it got) and what the simulator billed for
its API requests (the ground truth of the billing tests). Run it again after a Claude Code
upgrade.

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
from typing import Any

import orjson
import uvicorn

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from workers.simulator import create_app  # noqa: E402
from workers.simulator.billing import billed_summary  # noqa: E402
from workers.simulator.server import SimState  # noqa: E402

CLAUDE = REPO / "node_modules" / ".bin" / "claude"
WORKDIR = Path("/tmp/wx-capture/workspace/demo")
GZIP_ABOVE = 3 * 1024 * 1024
README = (
    "# Demo project\n\nA WinDev demo project.\n"
    "The API key of the demo is sk-ant-demo-secret-0001.\n"
)


READ_TOOLS = ("Read", "Grep", "Glob")


@dataclass(frozen=True)
class Capture:
    name: str
    prompt: str
    retries: int = 0
    oauth: bool = False
    signal: int | None = None
    resume_of: str | None = None
    config: str = "main"  # captures of one config share a Claude config dir (and, but for
    # "main", are recorded together: a turn between two others is part of what they show)
    tools: tuple[str, ...] = READ_TOOLS
    model: str | None = None


SLOW = "A long answer please #sim:slow"
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
    # Billing: a 4-turn resumed session (a tool turn of 4 API calls, a subagent on haiku)
    Capture("session_1", "Explain this project #sim:text", config="session"),
    Capture("session_2", "Read, list and search #sim:tools", resume_of="session_1",
            config="session"),
    Capture("session_3", "Delegate the summary #sim:task", resume_of="session_2",
            config="session", tools=(*READ_TOOLS, "Agent")),
    Capture("session_4", "And a last question #sim:text", resume_of="session_3",
            config="session"),
    # another session runs in the same config dir between two turns of the first
    Capture("interleave_a1", "First session #sim:text", config="interleave"),
    Capture("interleave_b1", "Another session #sim:text", config="interleave"),
    Capture("interleave_a2", "Back to the first #sim:text", resume_of="interleave_a1",
            config="interleave"),
    # the session's id resumed on a config dir that never saw it
    Capture("fresh_config", "Resume elsewhere #sim:text", resume_of="session_4", config="fresh"),
    # interrupted resumed turns, each followed by a normal one
    Capture("sig_base", "Explain this project #sim:text", config="sig"),
    Capture("sigint_resumed", SLOW, signal=signal.SIGINT, resume_of="sig_base", config="sig"),
    Capture("after_sigint", "Go on #sim:text", resume_of="sig_base", config="sig"),
    Capture("sigterm_resumed", SLOW, signal=signal.SIGTERM, resume_of="sig_base", config="sig"),
    Capture("after_sigterm", "Go on #sim:text", resume_of="sig_base", config="sig"),
    Capture("sigkill_resumed", SLOW, signal=signal.SIGKILL, resume_of="sig_base", config="sig"),
    Capture("after_sigkill", "Go on #sim:text", resume_of="sig_base", config="sig"),
    # a prompt past Haiku 5.5's long-context tier (100,000 tokens)
    Capture("long_haiku", "A big context #sim:long", model="claude-haiku-5-5"),
)


def start_simulator() -> tuple[str, uvicorn.Server, SimState]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(chars_per_s=4000)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, app.state.sim


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
            "--include-partial-messages", "--tools", *cap.tools,
            "--allowedTools", *cap.tools, "--permission-mode", "dontAsk",
            "--disable-slash-commands"]
    if cap.model:
        args.append(f"--model={cap.model}")
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
    wanted = _needed_by(set(filter(None, args.only.split(",")))) or {c.name for c in CAPTURES}
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(WORKDIR, ignore_errors=True)
    WORKDIR.mkdir(parents=True)
    (WORKDIR / "README.md").write_text(README)
    base_url, server, sim = start_simulator()
    sessions: dict[str, str] = {}
    manifest_path = args.out / "manifest.json"
    manifest = orjson.loads(manifest_path.read_bytes()) if manifest_path.exists() else {}
    with tempfile.TemporaryDirectory(prefix="wx-claude-config-") as config_root:
        for cap in CAPTURES:
            if cap.name not in wanted:
                continue
            config_dir = Path(config_root) / cap.config
            config_dir.mkdir(exist_ok=True)
            served_before = sim.seq
            data, code = run(cap, claude_env(base_url, config_dir, cap), sessions)
            time.sleep(0.3)  # a stream cut by the signal is billed when the server sees it close
            sessions[cap.name] = session_id(data) or ""
            path = write(args.out, cap.name, data)
            manifest[cap.name] = _manifest_entry(cap, code, sim, served_before)
            lines = data.count(b"\n")
            print(f"{cap.name:16} exit={code:<4} lines={lines:<5} -> {path}")
    manifest_path.write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2
                                           | orjson.OPT_SORT_KEYS) + b"\n")
    server.should_exit = True


def _manifest_entry(cap: Capture, code: int, sim: SimState, after: int) -> dict[str, Any]:
    served = [e for e in sim.served if e["seq"] > after]
    return {"order": CAPTURES.index(cap), "resume_of": cap.resume_of, "config": cap.config,
            "exit_code": code,
            "signal": None if cap.signal is None else signal.Signals(cap.signal).name,
            "billed": billed_summary(served)}


def _needed_by(wanted: set[str]) -> set[str]:
    """The wanted captures, the rest of their config group, and every capture they resume,
    transitively: all of them are recorded again, so resumed sessions stay whole."""
    by_name = {c.name: c for c in CAPTURES}
    needed: set[str] = set()
    todo = [n for n in wanted if n in by_name]
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        cap = by_name[name]
        todo += [cap.resume_of] if cap.resume_of else []
        todo += [c.name for c in CAPTURES if cap.config != "main" and c.config == cap.config]
    return needed


if __name__ == "__main__":
    main()
