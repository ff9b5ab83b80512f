"""Input guardrail benchmark: the whole check (normalisation pipeline, rules, classifier) on
4 KB messages, beside plain `normalize` (NFKC, case folding, whitespace) measured in the same
run on the same messages.

The messages are the corpus's work messages (code, SQL, stack traces, WinDev source, requests
in three languages, some of them obfuscated) joined to 4 KB, every other one with an attack of
the corpus hidden in the middle. Each message is checked once, after a warm-up on other
messages: what a running API process meets. Run: `.venv/bin/python bench/bench_guardrail.py`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import numpy as np

from app.guardrail import Guardrail, normalize
from app.settings import Settings
from scripts.guard_corpus import build

SIZE = 4096
WARM_UP = 300
MEASURED = 600


def four_kb_messages(count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    corpus = build()
    benign = [s.text for s in corpus if s.label == "benign"]
    attacks = [s.text for s in corpus if s.label == "malicious" and len(s.text) < 400]
    messages = []
    for number in range(count):
        parts: list[str] = []
        while sum(map(len, parts)) < SIZE:
            parts.append(rng.choice(benign))
        text = "\n\n".join(parts)
        if number % 2:
            middle = len(text) // 2
            text = text[:middle] + "\n" + rng.choice(attacks) + "\n" + text[middle:]
        messages.append(text.encode()[:SIZE].decode(errors="ignore"))
    return messages


def timings(fn: Callable[[str], object], messages: list[str]) -> np.ndarray:
    """Microseconds per call, each message once: every message is new to the process."""
    out = []
    for text in messages:
        start = time.perf_counter_ns()
        fn(text)
        out.append(time.perf_counter_ns() - start)
    return np.array(out) / 1000.0


def main() -> None:
    guardrail = Guardrail(Settings())
    for text in four_kb_messages(WARM_UP, seed=1):  # a process that has seen some traffic
        normalize(text)
        guardrail.check(text)
    messages = four_kb_messages(MEASURED, seed=2)
    base = timings(normalize, messages)
    check = timings(guardrail.check, messages)
    blocked = sum(guardrail.check(text).blocked for text in messages)
    print(f"{len(messages)} new messages of {SIZE} bytes after {WARM_UP} others; "
          f"{blocked} blocked (half carry an attack)")
    print(f"{'':22} {'p50 us':>8} {'p99 us':>8} {'max us':>8}")
    for name, values in (("normalize (baseline)", base), ("guardrail.check", check)):
        p50, p99 = np.percentile(values, [50, 99])
        print(f"{name:22} {p50:8.0f} {p99:8.0f} {values.max():8.0f}")
    ratio = np.percentile(check, 99) / np.percentile(base, 99)
    print(f"check / baseline at p99: {ratio:.1f}x; target: check p99 <= 1000 us")


if __name__ == "__main__":
    main()
