"""Worker histograms kept in Redis hashes become Prometheus histograms (no I/O)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from app.metrics import TURN_DURATION_BUCKETS, _histogram, _observe


class _Pipe:
    """Records HINCRBY/HINCRBYFLOAT as a Redis hash would hold them."""

    def __init__(self) -> None:
        self.hash: dict[bytes | str, bytes | str] = {}

    def _add(self, field: str, value: float) -> None:
        old = float(self.hash.get(field.encode(), "0"))
        self.hash[field.encode()] = repr(old + value).encode()

    def hincrby(self, _key: str, field: str, value: int) -> None:
        self._add(field, value)

    def hincrbyfloat(self, _key: str, field: str, value: float) -> None:
        self._add(field, value)


def test_observations_become_a_cumulative_histogram() -> None:
    pipe = _Pipe()
    for value in (0.5, 3.0, 3.5, 9000.0):
        _observe(pipe, "k", ("chat", "succeeded"), TURN_DURATION_BUCKETS, value)
    _observe(pipe, "k", ("chat", "failed"), TURN_DURATION_BUCKETS, 1.5)
    family = _histogram("wx_t_seconds", "doc", ["queue", "state"], TURN_DURATION_BUCKETS,
                        pipe.hash)

    class _One(Collector):
        def collect(self):  # type: ignore[no-untyped-def]
            yield family

    registry = CollectorRegistry()
    registry.register(_One())
    text = generate_latest(registry).decode()
    (parsed,) = text_string_to_metric_families(text)
    samples = {(s.name, s.labels.get("state"), s.labels.get("le")): s.value
               for s in parsed.samples}
    assert samples[("wx_t_seconds_bucket", "succeeded", "1.0")] == 1
    assert samples[("wx_t_seconds_bucket", "succeeded", "5.0")] == 3
    assert samples[("wx_t_seconds_bucket", "succeeded", "7200.0")] == 3
    assert samples[("wx_t_seconds_bucket", "succeeded", "+Inf")] == 4
    assert samples[("wx_t_seconds_count", "succeeded", None)] == 4
    assert samples[("wx_t_seconds_sum", "succeeded", None)] == 9007.0
    assert samples[("wx_t_seconds_bucket", "failed", "2.0")] == 1
