"""NDJSON framing of executor output: chunk boundaries, the line cap, the stderr tail."""

from __future__ import annotations

import random

from workers.executor._framing import LineFramer, StderrTail


def _frame(data: bytes, cuts: list[int], cap: int = 1 << 20) -> tuple[list[bytes], int]:
    framer = LineFramer(cap)
    lines: list[bytes] = []
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        lines += framer.feed(data[start:cut])
        start = cut
    last = framer.finish()
    return lines + ([last] if last is not None else []), framer.dropped


def test_any_chunking_gives_the_same_lines() -> None:
    data = b'{"a":1}\n{"b":"' + b"x" * 5000 + b'"}\r\n\n{"c":3}\npartial'
    expected = [b'{"a":1}', b'{"b":"' + b"x" * 5000 + b'"}', b'{"c":3}', b"partial"]
    rng = random.Random(7)
    for _ in range(300):
        cuts = rng.sample(range(len(data)), rng.randint(0, 40))
        assert _frame(data, cuts) == (expected, 0)


def test_over_cap_line_dropped_wherever_it_is_cut() -> None:
    data = b"ok1\n" + b"y" * 100 + b"\nok2\n" + b"z" * 50 + b"\nok3"
    for cut in range(len(data)):
        assert _frame(data, [cut], cap=60) == ([b"ok1", b"ok2", b"z" * 50, b"ok3"], 1)


def test_line_exactly_at_cap_kept() -> None:
    assert _frame(b"a" * 10 + b"\n", [3], cap=10) == ([b"a" * 10], 0)
    assert _frame(b"a" * 11 + b"\n", [3], cap=10) == ([], 1)


def test_unterminated_over_cap_tail_dropped() -> None:
    assert _frame(b"ok\n" + b"q" * 30, [5, 20], cap=10) == ([b"ok"], 1)


def test_stderr_tail_bounded_and_keeps_the_end() -> None:
    tail = StderrTail(limit=100)
    for i in range(1000):
        tail.add(f"line {i}\n".encode())
    text = tail.text()
    assert len(text) <= 100 and text.endswith("line 999\n")
