"""Hot-path benchmark: claude stdout line -> sanitized protocol frames -> wire JSON.

Each figure is a ratio against a baseline measured in the same run on the same lines
(`orjson.loads` of every line, the least any consumer of stream-json must do), so the
result does not depend on the machine. Run: `.venv/bin/python bench/bench_hot_paths.py`.
"""

from __future__ import annotations

import gzip
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path

import orjson

from app.events import frame_body
from app.guardrail import Guardrail
from workers.turn_frames import TurnStream

CAPTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "captures"


def load_lines(name: str) -> list[bytes]:
    plain = CAPTURES / f"{name}.jsonl"
    data = plain.read_bytes() if plain.exists() else gzip.decompress(
        (CAPTURES / f"{name}.jsonl.gz").read_bytes())
    return data.splitlines()


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def baseline(lines: list[bytes]) -> None:
    for line in lines:
        orjson.loads(line)


def pipeline(lines: list[bytes], guardrail: Guardrail) -> None:
    stream = TurnStream(
        job_id="bench", sanitizer=guardrail.output_sanitizer(path_prefixes=["/workspace/p"]),
        tool_result_max_chars=8000)
    for line in lines:
        for frame in stream.feed_line(line):
            frame_body(frame)
    for frame in stream.finish(exit_code=0):
        frame_body(frame)


def peak_memory(fn: Callable[[], object]) -> int:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main() -> None:
    guardrail = Guardrail()
    print(f"{'capture':<10} {'lines':>6} {'MB':>6} {'time ratio':>11} {'mem ratio':>10}")
    for name in ("text", "tool", "midfail", "huge"):
        lines = load_lines(name) * (20 if name != "huge" else 1)
        size_mb = sum(map(len, lines)) / 1e6
        run_baseline = partial(baseline, lines)
        run_pipeline = partial(pipeline, lines, guardrail)
        base_t, pipe_t = best_of(run_baseline), best_of(run_pipeline)
        base_m, pipe_m = peak_memory(run_baseline), peak_memory(run_pipeline)
        print(f"{name:<10} {len(lines):>6} {size_mb:>6.2f} {pipe_t / base_t:>11.1f} "
              f"{pipe_m / max(base_m, 1):>10.1f}")


if __name__ == "__main__":
    main()
