"""Concurrent turns: the runner's full path beside a direct pipe, in one run.

For each K, K WebSocket clients each send one message at once and read the answer: through
the runner (WebSocket -> API -> Celery -> executor -> the stand-in claude -> Redis -> relay
-> WebSocket), and through bench/pipe_server.py (a process that spawns the same stand-in per
socket and forwards its lines). The stand-in (workers/standin.py; in a tenant container,
where there is no Python, bench/standin.c, the same program built static with gcc; or the C
one everywhere with `--standin c`) prints 200 deltas at 50/s, each stamped with its emit
time, so the client measures per-frame latency and counts the stamps lost. Every figure is
also given as a ratio to the pipe's, measured in the same run: each K is tried `--repeat`
times (pipe, then runner, back to back) and the trial of median wall ratio is reported.

Run (it starts and stops its own stack on spare ports):
    .venv/bin/python bench/bench_concurrency.py [--k 1,10,50,100] [--docker-k 1,10,50]
Writes bench/results/concurrency.json, concurrency.png and concurrency.md (the README's table)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.auth import mint_token
from app.settings import Settings
from tests.helpers import (
    VENV_BIN,
    OwnedProcess,
    free_port,
    port_open,
    start_egress_proxy,
    start_redis_server,
    wait_until,
)
from workers.standin import stamps, started_at

RESULTS = Path(__file__).resolve().parent / "results"
PROFILE = {"on": False}
REPEAT = {"n": 3}
DELTAS, RATE = 200, 50
PROMPT = f"Convert the order form #standin:deltas={DELTAS},rate={RATE}"
IDLE_SOCKETS = 500
TENANT = "bench"


@dataclass
class TurnSeen:
    """One client's view of one turn."""

    sent_ns: int
    queued_ns: int | None = None  # the runner's job_queued frame arrived
    first_chunk_ns: int | None = None
    done_ns: int = 0
    started_ns: int | None = None  # the stand-in process's start
    frame_latency_ms: list[float] = field(default_factory=list)
    frame_emitted_ns: list[int] = field(default_factory=list)  # beside each latency
    stamps: list[int] = field(default_factory=list)

    def take_text(self, text: str, received_ns: int) -> None:
        if self.first_chunk_ns is None:
            self.first_chunk_ns = received_ns
        if self.started_ns is None:
            self.started_ns = started_at(text)
        for k, emitted in stamps(text):
            self.stamps.append(k)
            self.frame_latency_ms.append((received_ns - emitted) / 1e6)
            self.frame_emitted_ns.append(emitted)


@dataclass
class Run:
    """What one K gave, for one path."""

    path: str
    k: int
    wall_s: float
    first_chunk_p50_ms: float
    first_chunk_p99_ms: float
    frame_p50_ms: float
    frame_p99_ms: float
    frame_p50_all_running_ms: float  # frames emitted while all K turns ran (no start or end)
    frames_per_s: float
    stamps_lost: int
    stamps_duplicated: int
    dispatch_p50_ms: float
    dispatch_p99_ms: float
    queued_p50_ms: float
    rss_per_turn_kb: float
    cpu_s: dict[str, float] = field(default_factory=dict)  # by process, during the run


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cpu_s(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick, (int(fields[13]) + int(fields[14])) / tick


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def summarize(path: str, k: int, turns: list[TurnSeen], wall_s: float,
              rss_per_turn_kb: float) -> Run:
    first = [(t.first_chunk_ns - t.sent_ns) / 1e6 for t in turns if t.first_chunk_ns]
    frames = [lat for t in turns for lat in t.frame_latency_ms]
    dispatch = [(t.started_ns - t.sent_ns) / 1e6 for t in turns if t.started_ns]
    queued = [(t.queued_ns - t.sent_ns) / 1e6 for t in turns if t.queued_ns]
    lost = sum(len(set(range(DELTAS)) - set(t.stamps)) for t in turns)
    dup = sum(len(t.stamps) - len(set(t.stamps)) for t in turns)
    return Run(path, k, wall_s, _pct(first, 0.5), _pct(first, 0.99), _pct(frames, 0.5),
               _pct(frames, 0.99), _pct(_all_running(turns), 0.5), len(frames) / wall_s,
               lost, dup, _pct(dispatch, 0.5), _pct(dispatch, 0.99), _pct(queued, 0.5),
               rss_per_turn_kb)


def _all_running(turns: list[TurnSeen]) -> list[float]:
    """Latencies of the frames emitted after the last turn's claude started and before the
    first turn ended: what a frame costs with no turn starting or ending beside it."""
    since = max(t.started_ns or 0 for t in turns)
    until = min(t.done_ns for t in turns)
    return [lat for t in turns
            for lat, emitted in zip(t.frame_latency_ms, t.frame_emitted_ns, strict=True)
            if since <= emitted <= until]


async def _timed(k: int, open_socket: Callable[[], Awaitable[ClientConnection]],
                 one_turn: Callable[[ClientConnection, TurnSeen], Awaitable[None]],
                 rss_of: Callable[[], int]) -> tuple[list[TurnSeen], float, float]:
    sockets = [await open_socket() for _ in range(k)]
    before = rss_of()
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_of())
            await asyncio.sleep(0.1)

    sampler = asyncio.create_task(sample())
    start = time.time_ns()
    turns = [TurnSeen(sent_ns=start) for _ in sockets]
    await asyncio.gather(*(one_turn(ws, t) for ws, t in zip(sockets, turns, strict=True)))
    wall = (max(t.done_ns for t in turns) - start) / 1e9
    done.set()
    await sampler
    for ws in sockets:
        await ws.close()
    return turns, wall, max(0.0, (peak - before) / k)


# ------------------------------------------------------------------ the two paths


class Runner:
    """The runner's stack on spare ports: Redis, SecantusDB, the API, one chat worker."""

    def __init__(self, root: Path, executor: str, extra: dict[str, str]) -> None:
        self.root = root
        self.logs = root / "logs"
        for folder in ("redis", "mongo", "data"):
            (root / folder).mkdir(parents=True, exist_ok=True)
        self.redis, redis_url = start_redis_server(root / "redis", self.logs / "redis.log")
        mongo_port = free_port()
        self.mongo = OwnedProcess([str(VENV_BIN / "secantusd-py"), "--host", "127.0.0.1",
                                   "--port", str(mongo_port), "--storage-path",
                                   str(root / "mongo")], log=self.logs / "mongo.log")
        wait_until(lambda: port_open(mongo_port), timeout=60, what="secantusdb")
        # Tenant containers have no network: their way out is the egress proxy, as deployed
        # (the stand-in never calls the model API, so its allowed host answers nothing).
        self.egress = (start_egress_proxy(root / "egress", "http://127.0.0.1:9",
                                          self.logs / "egress.log")
                       if executor == "docker" else None)
        self.values = {
            "env": "test", "redis_url": redis_url, "mongo_url": f"mongodb://127.0.0.1:{mongo_port}",
            "mongo_db": "bench", "data_dir": str(root / "data"), "executor": executor,
            "log_level": "WARNING",
            "limit_running_turns": "1000", "limit_queued_turns": "1000",
            "worker_host": f"bench{uuid.uuid4().hex[:6]}", "deployment": "bench",
            "turn_idle_timeout_s": "60", "container_pids": "1024", **extra,
            "egress_dir": str(root / "egress"),
        }
        env = {f"WX_{k.upper()}": v for k, v in self.values.items()}
        self.api_port = free_port()
        self.api = OwnedProcess([str(VENV_BIN / "wxrunner"), "api", "--host", "127.0.0.1",
                                 "--port", str(self.api_port), "--no-access-log"],
                                env=env, log=self.logs / "api.log")
        self.worker = OwnedProcess([str(VENV_BIN / "celery"), "-A", "tasks", "worker", "-Q",
                                    "chat", "-n", "bench@%h", "--loglevel=WARNING",
                                    "--without-gossip", "--without-mingle"],
                                   env=env, log=self.logs / "worker.log")
        wait_until(lambda: port_open(self.api_port), timeout=60, what="API")
        wait_until(lambda: self._worker_ready(), timeout=60, what="worker")
        settings = Settings(**self.values)  # type: ignore[arg-type]
        self.token = mint_token(settings, tenant_id=TENANT, sub="bench")
        reply = httpx.post(f"http://127.0.0.1:{self.api_port}/api/projects", json={"name": "b"},
                           headers={"Authorization": f"Bearer {self.token}"}, timeout=30)
        self.project = reply.json()["id"]

    def pids(self) -> dict[str, int]:
        return {"api": self.api.pid, "worker": self.worker.pid, "secantusdb": self.mongo.pid,
                "redis": self.redis.pid}

    def _worker_ready(self) -> bool:
        reply = httpx.get(f"http://127.0.0.1:{self.api_port}/readyz", timeout=10)
        return reply.status_code == 200

    async def open_socket(self) -> ClientConnection:
        return await connect(f"ws://127.0.0.1:{self.api_port}/ws/chat/{self.project}",
                             subprotocols=["bearer", self.token],  # type: ignore[list-item]
                             max_size=None, open_timeout=60)

    async def one_turn(self, ws: ClientConnection, seen: TurnSeen) -> None:
        await ws.send(orjson.dumps({"type": "message", "content": PROMPT}).decode())
        async for raw in ws:
            received = time.time_ns()
            frame = orjson.loads(raw)
            kind = frame["type"]
            if kind == "assistant_chunk":
                seen.take_text(frame["content"], received)
            elif kind == "job_queued" and seen.queued_ns is None:
                seen.queued_ns = received
            elif kind in ("session_end", "error", "cancelled"):
                seen.done_ns = received
                return

    def close(self) -> None:
        for proc in (self.worker, self.api, self.mongo, self.redis, self.egress):
            if proc is not None:
                proc.stop()


class Pipe:
    """bench/pipe_server.py on a spare port."""

    def __init__(self, root: Path, claude: str, container: str = "") -> None:
        self.port = free_port()
        argv = [sys.executable, str(Path(__file__).parent / "pipe_server.py"), "--port",
                str(self.port), "--claude", claude]
        if container:
            argv += ["--docker-container", container]
        self.proc = OwnedProcess(argv, log=root / "logs" / "pipe.log")
        wait_until(lambda: port_open(self.port), timeout=30, what="pipe server")

    def pids(self) -> dict[str, int]:
        return {"pipe": self.proc.pid}

    async def open_socket(self) -> ClientConnection:
        return await connect(f"ws://127.0.0.1:{self.port}/", max_size=None, open_timeout=60)

    async def one_turn(self, ws: ClientConnection, seen: TurnSeen) -> None:
        await ws.send(orjson.dumps({"content": PROMPT}).decode())
        async for raw in ws:
            received = time.time_ns()
            line = orjson.loads(raw)
            if line.get("type") == "end":
                seen.done_ns = received
                return
            delta = (line.get("event") or {}).get("delta") or {}
            if line.get("type") == "stream_event" and delta.get("type") == "text_delta":
                seen.take_text(delta["text"], received)

    def close(self) -> None:
        self.proc.stop()


# ------------------------------------------------------------------ the run


async def measure(path: str, target: Any, k: int, rss_pid: int) -> Run:
    spies = _profile(target, k) if PROFILE["on"] and path == "runner" and k > 1 else []
    pids = target.pids()
    before = {name: cpu_s(pid) for name, pid in pids.items()}
    turns, wall, rss = await _timed(k, target.open_socket, target.one_turn,
                                    lambda: _rss_kb(rss_pid))
    after = {name: cpu_s(pid) for name, pid in pids.items()}
    for spy in spies:
        spy.wait()
    run = summarize(path, k, turns, wall, rss)
    for name in pids:
        run.cpu_s[name] = round(after[name][0] - before[name][0], 2)
        children = after[name][1] - before[name][1]
        if children:
            run.cpu_s[f"{name} children (stand-ins)"] = round(children, 2)
    return run


def _profile(runner: Runner, k: int) -> list[Any]:
    import subprocess

    return [subprocess.Popen(["py-spy", "record", "-p", str(pid), "-d", "9", "-r", "250",
                              "--threads", "-f", "raw",
                              "-o", str(runner.root / f"{name}-{k}.folded"),
                              "--nonblocking"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
            for name, pid in (("api", runner.api.pid), ("worker", runner.worker.pid),
                              ("mongo", runner.mongo.pid), ("redis", runner.redis.pid))]


async def idle_socket_kb(open_socket: Callable[[], Awaitable[ClientConnection]],
                         pid: int) -> float:
    """RSS a process gains per idle socket (IDLE_SOCKETS opened, held, closed)."""
    before = _rss_kb(pid)
    sockets = [await open_socket() for _ in range(IDLE_SOCKETS)]
    await asyncio.sleep(2)
    after = _rss_kb(pid)
    for ws in sockets:
        await ws.close()
    return (after - before) / IDLE_SOCKETS


@contextmanager
def _stack(kind: str, root: Path, extra: dict[str, str]) -> Iterator[tuple[Runner, Pipe]]:
    runner = Runner(root / kind, kind, extra)
    if kind == "docker":
        from bench.docker_standin import STANDIN_IN_CONTAINER

        pipe = Pipe(root / kind, STANDIN_IN_CONTAINER, container=f"wx-tenant-{TENANT}")
    else:
        pipe = Pipe(root / kind, extra["claude_bin"])
    try:
        yield runner, pipe
    finally:
        pipe.close()
        runner.close()
        if kind == "docker":
            from bench.docker_standin import remove_container

            remove_container(runner.values["deployment"])


async def run_all(ks: list[int], kind: str, root: Path, extra: dict[str, str]) -> dict[str, Any]:
    rows = []
    with _stack(kind, root, extra) as (runner, pipe):
        await measure("runner", runner, 1, runner.worker.pid)  # warm-up: imports, first
        await measure("pipe", pipe, 1, pipe.proc.pid)  # container, caches
        for k in ks:
            trials = []
            for _ in range(REPEAT["n"]):  # back to back, so a noisy moment hits both
                pipe_run = await measure("pipe", pipe, k, pipe.proc.pid)
                runner_run = await measure("runner", runner, k, runner.worker.pid)
                trials.append((runner_run, pipe_run, ratios(runner_run, pipe_run)))
                print(_line(kind, runner_run, pipe_run), flush=True)
            # the trial of median wall ratio stands for K (its figures all from one pair)
            runner_run, pipe_run, row_ratios = sorted(trials, key=lambda t: t[2]["wall"])[
                len(trials) // 2]
            rows.append({"k": k, "pipe": asdict(pipe_run), "runner": asdict(runner_run),
                         "ratios": row_ratios, "trials": [t[2] for t in trials]})
        api_kb = await idle_socket_kb(runner.open_socket, runner.api.pid)
        pipe_kb = await idle_socket_kb(pipe.open_socket, pipe.proc.pid)
    print(f"{kind}: API RSS per idle socket {api_kb:.1f} KB (pipe {pipe_kb:.1f} KB)")
    return {"executor": kind, "rows": rows, "api_rss_per_idle_socket_kb": api_kb,
            "pipe_rss_per_idle_socket_kb": pipe_kb}


def ratios(runner: Run, pipe: Run) -> dict[str, float]:
    return {
        "wall": runner.wall_s / pipe.wall_s,
        "first_chunk_p50": runner.first_chunk_p50_ms / max(pipe.first_chunk_p50_ms, 1e-9),
        "first_chunk_p50_added_ms": runner.first_chunk_p50_ms - pipe.first_chunk_p50_ms,
        "frames_per_s": runner.frames_per_s / pipe.frames_per_s,
        "frame_p50_added_ms": runner.frame_p50_ms - pipe.frame_p50_ms,
        "frame_p99_added_ms": runner.frame_p99_ms - pipe.frame_p99_ms,
        "frame_p50_all_running_added_ms": (runner.frame_p50_all_running_ms
                                           - pipe.frame_p50_all_running_ms),
    }


def _line(kind: str, r: Run, p: Run) -> str:
    return (f"{kind} K={r.k:<4} wall {r.wall_s:5.2f}s (pipe {p.wall_s:5.2f}s)  first chunk p50 "
            f"{r.first_chunk_p50_ms:6.0f} ms (pipe {p.first_chunk_p50_ms:5.0f})  frame p50 "
            f"{r.frame_p50_ms:5.1f} ms (pipe {p.frame_p50_ms:4.1f}; all running "
            f"{r.frame_p50_all_running_ms:4.1f}/{p.frame_p50_all_running_ms:4.1f})  frames/s "
            f"{r.frames_per_s:6.0f}"
            f" (pipe {p.frames_per_s:6.0f})  lost {r.stamps_lost}  dispatch p50/p99 "
            f"{r.dispatch_p50_ms:5.0f}/{r.dispatch_p99_ms:5.0f} ms (pipe {p.dispatch_p50_ms:4.0f}/"
            f"{p.dispatch_p99_ms:4.0f})  queued p50 {r.queued_p50_ms:5.0f} ms  "
            f"worker RSS/turn {r.rss_per_turn_kb:6.0f} KB\n"
            f"    CPU s: runner {r.cpu_s}  pipe {p.cpu_s}")


def plot(report: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for run in report["runs"]:
        ks = [row["k"] for row in run["rows"]]
        style = "-" if run["executor"] == "local" else "--"
        for name, label in (("wall", "wall"), ("frames_per_s", "frames/s"),
                            ("first_chunk_p50", "first chunk p50")):
            ax.plot(ks, [row["ratios"][name] for row in run["rows"]], style, marker="o",
                    label=f"{label} ({run['executor']})")
    ax.axhline(1.3, color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(0.8, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_xlabel("concurrent turns K")
    ax.set_ylabel("runner / direct pipe")
    ax.set_title("wxcode runner vs a direct pipe (same machine, same run)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def markdown_table(report: dict[str, Any]) -> str:
    """The README's table: each K's runner figures, the pipe's beside them, and the ratios."""
    lines = [
        "| executor | K | wall s (pipe) | ratio | first chunk p50 ms (pipe) | added ms "
        "| first chunk p99 ms | frames/s (pipe) | ratio | frame p50 added ms "
        "| frame p99 added ms | frame p50 added, all running ms | lost | dispatch p50 ms "
        "| worker RSS/turn KB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in report["runs"]:
        for row in run["rows"]:
            r, p, x = row["runner"], row["pipe"], row["ratios"]
            lines.append(
                f"| {run['executor']} | {row['k']} | {r['wall_s']:.2f} ({p['wall_s']:.2f}) "
                f"| {x['wall']:.2f} | {r['first_chunk_p50_ms']:.0f} ({p['first_chunk_p50_ms']:.0f})"
                f" | {x['first_chunk_p50_added_ms']:+.0f} | {r['first_chunk_p99_ms']:.0f} "
                f"| {r['frames_per_s']:.0f} ({p['frames_per_s']:.0f}) | {x['frames_per_s']:.2f} "
                f"| {x['frame_p50_added_ms']:+.1f} | {x['frame_p99_added_ms']:+.1f} "
                f"| {x['frame_p50_all_running_added_ms']:+.1f} | {r['stamps_lost']} "
                f"| {r['dispatch_p50_ms']:.0f} | {r['rss_per_turn_kb']:.0f} |")
    sockets = ", ".join(
        f"{run['executor']} {run['api_rss_per_idle_socket_kb']:.1f} KB "
        f"(pipe {run['pipe_rss_per_idle_socket_kb']:.1f} KB)" for run in report["runs"])
    return "\n".join(lines) + f"\n\nAPI RSS per idle socket: {sockets}.\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--k", default="1,10,50,100")
    parser.add_argument("--docker-k", default="", help="also the Docker executor (e.g. 1,10,50)")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--standin", choices=("python", "c"), default="python",
                        help="the stand-in claude of the local rows")
    parser.add_argument("--repeat", type=int, default=3,
                        help="trials per K (pipe, then runner); the median by wall ratio is kept")
    parser.add_argument("--keep", default="", help="keep the stacks' data and logs in this folder")
    parser.add_argument("--profile", action="store_true",
                        help="record py-spy profiles of the API and the worker (needs py-spy)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"deltas": DELTAS, "rate": RATE, "cpus": os.cpu_count(),
                              "repeat": args.repeat, "runs": []}
    with tempfile.TemporaryDirectory(prefix="wx-bench-") as tmp:
        root = Path(args.keep or tmp)
        PROFILE["on"] = args.profile
        REPEAT["n"] = max(1, args.repeat)
        from bench.docker_standin import build_standin, docker_extra

        standin = VENV_BIN / "wxrunner-standin-claude"
        if args.standin == "c":
            (root / "standin").mkdir(parents=True, exist_ok=True)
            standin = build_standin(root / "standin")
        report["standin"] = args.standin
        report["runs"].append(asyncio.run(run_all(
            [int(k) for k in args.k.split(",")], "local", root, {"claude_bin": str(standin)})))
        if args.docker_k:
            report["runs"].append(asyncio.run(run_all(
                [int(k) for k in args.docker_k.split(",")], "docker", root,
                docker_extra(root / "docker-image"))))
    (out / "concurrency.json").write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    plot(report, out / "concurrency.png")
    (out / "concurrency.md").write_text(markdown_table(report))
    print(markdown_table(report))
    print(f"wrote concurrency.json, concurrency.png and concurrency.md in {out}")


if __name__ == "__main__":
    main()
