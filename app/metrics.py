"""Prometheus series of the runner, in one registry.

The API process observes what it sees itself (open sockets, relay lag, submissions).
The workers run in other processes, often on other hosts, so they record their series
in Redis (`record_turn`: histogram buckets and per-tenant counters in `wx:metrics:*`
hashes, with the bucket lists below), and the API reads those at scrape time together
with queue depth (Redis list lengths), jobs by state and queue (Mongo) and the worker
host registry (alive hosts, running tenant containers)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from redis.asyncio import Redis

from app.keys import metrics_key
from app.vocab import QueueName

if TYPE_CHECKING:
    from app.models import Job
    from app.protocol import UsageSummary

__all__ = [
    "FIRST_CHUNK_BUCKETS",
    "OPEN_SOCKETS",
    "REGISTRY",
    "RELAY_LAG",
    "RELAY_RESYNCS",
    "TURNS_SUBMITTED",
    "TURN_DURATION_BUCKETS",
    "record_turn",
    "record_turn_end",
    "refresh_scrape_metrics",
]

REGISTRY = CollectorRegistry(auto_describe=True)

OPEN_SOCKETS = Gauge("wx_open_sockets", "Open chat WebSockets", registry=REGISTRY)
TURNS_SUBMITTED = Counter(
    "wx_turns_submitted", "Turns submitted, by queue and outcome", ["queue", "outcome"],
    registry=REGISTRY,
)
RELAY_RESYNCS = Counter(
    "wx_relay_resyncs", "Followers that re-read a job's stream (their queue overflowed, or the "
    "pub/sub listener was rebuilt)", registry=REGISTRY,
)
RELAY_LAG = Histogram(
    "wx_relay_lag_seconds", "Frame timestamp to delivery to a client",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=REGISTRY,
)

# Upper bounds of the worker histograms' buckets (+Inf is implied). Shared by the
# workers that write them and the API that exports them: change both at once.
TURN_DURATION_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 7200.0)
FIRST_CHUNK_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)

_TURN_DURATION = metrics_key("turn_duration")
_FIRST_CHUNK = metrics_key("first_chunk")
_TENANT_TOKENS = metrics_key("tenant_tokens")
_TENANT_COST = metrics_key("tenant_cost")
# stdout lines a turn could not use, by reason: too long for the framer (`dropped`), not
# JSON, an unknown type, a known type missing a field (stream_parser.ParseStats)
_SKIPPED_LINES = metrics_key("skipped_lines")
_SEP = "|"

log = logging.getLogger("wx.metrics")


async def record_turn(
    redis: Redis,
    *,
    queue: str,
    state: str,
    tenant_id: str,
    duration_s: float | None,
    first_chunk_s: float | None,
    tokens: int,
    cost_usd: float,
    skipped_lines: Mapping[str, int] | None = None,
) -> None:
    """A worker's record of one ended turn (call once per turn: after the atomic end)."""
    async with redis.pipeline(transaction=True) as pipe:
        if duration_s is not None:
            _observe(pipe, _TURN_DURATION, (queue, state), TURN_DURATION_BUCKETS, duration_s)
        if first_chunk_s is not None:
            _observe(pipe, _FIRST_CHUNK, (queue,), FIRST_CHUNK_BUCKETS, first_chunk_s)
        if tokens:
            pipe.hincrby(_TENANT_TOKENS, tenant_id, tokens)
        if cost_usd:
            pipe.hincrbyfloat(_TENANT_COST, tenant_id, cost_usd)
        for reason, count in (skipped_lines or {}).items():
            if count:
                pipe.hincrby(_SKIPPED_LINES, f"{queue}{_SEP}{reason}", count)
        await pipe.execute()


async def record_turn_end(
    redis: Redis, job: Job, state: str, usage: UsageSummary | None, *,
    duration_s: float | None, first_chunk_s: float | None = None,
    skipped_lines: Mapping[str, int] | None = None,
) -> None:
    """`record_turn` for an ended job; a Redis error is logged, never raised."""
    try:
        await record_turn(
            redis, queue=job.queue, state=state, tenant_id=job.tenant_id,
            duration_s=duration_s, first_chunk_s=first_chunk_s,
            tokens=usage.total_tokens if usage else 0,
            cost_usd=usage.total_cost_usd if usage else 0.0,
            skipped_lines=skipped_lines,
        )
    except Exception:
        log.exception("job %s: cannot record its metrics", job.id)


def _observe(pipe: Any, key: str, labels: Sequence[str], buckets: Sequence[float],
             value: float) -> None:
    prefix = _SEP.join(labels)
    index = next((i for i, bound in enumerate(buckets) if value <= bound), len(buckets))
    pipe.hincrby(key, f"{prefix}{_SEP}b{index}", 1)
    pipe.hincrby(key, f"{prefix}{_SEP}count", 1)
    pipe.hincrbyfloat(key, f"{prefix}{_SEP}sum", value)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _histogram(name: str, doc: str, label_names: list[str], buckets: Sequence[float],
               raw: Mapping[bytes | str, bytes | str]) -> HistogramMetricFamily:
    """A histogram family from a `_observe` hash (per-bucket counts made cumulative)."""
    series: dict[tuple[str, ...], dict[str, float]] = {}
    for field, value in raw.items():
        *names, part = _text(field).split(_SEP)
        series.setdefault(tuple(names), {})[part] = float(value)
    family = HistogramMetricFamily(name, doc, labels=label_names)
    bounds = [*(str(float(b)) for b in buckets), "+Inf"]
    for label_values, parts in sorted(series.items()):
        running, cumulative = 0.0, []
        for i, bound in enumerate(bounds):
            running += parts.get(f"b{i}", 0.0)
            cumulative.append((bound, running))
        family.add_metric(list(label_values), cumulative, sum_value=parts.get("sum", 0.0))
    return family


class _ScrapeCollector(Collector):
    """Families read from Redis and Mongo just before each scrape."""

    def __init__(self) -> None:
        self.families: list[Metric] = []

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        yield from self.families


_SCRAPE = _ScrapeCollector()
REGISTRY.register(_SCRAPE)


def _gauge(name: str, doc: str, labels: list[str],
           rows: Sequence[tuple[tuple[str, ...], float]]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for label_values, value in rows:
        family.add_metric(list(label_values), value)
    return family


def _labelled_counter(name: str, doc: str, labels: list[str],
                      raw: Mapping[bytes | str, bytes | str]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for field, value in sorted((_text(k), float(v)) for k, v in raw.items()):
        family.add_metric(field.split(_SEP), value)
    return family


def _counter(name: str, doc: str,
             raw: Mapping[bytes | str, bytes | str]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=["tenant"])
    for tenant, value in sorted((_text(k), float(v)) for k, v in raw.items()):
        family.add_metric([tenant], value)
    return family


async def refresh_scrape_metrics(redis: Redis) -> None:
    """Read the workers' series, queue depth, jobs and hosts for the next scrape."""
    from app.models import Job
    from app.services.hosts import alive_hosts, host_queue

    hosts = await alive_hosts(redis)
    queues = [*QueueName, *(host_queue(q, h.host) for h in hosts for q in sorted(h.queues))]
    depth = [((q,), float(await redis.llen(q))) for q in queues]  # type: ignore[misc]
    pipeline: list[dict[str, Any]] = [
        {"$group": {"_id": {"state": "$state", "queue": "$queue"}, "n": {"$sum": 1}}}
    ]
    rows = await (await Job.get_pymongo_collection().aggregate(pipeline)).to_list(1000)
    jobs = [((str(r["_id"]["state"]), str(r["_id"]["queue"])), float(r["n"])) for r in rows]
    _SCRAPE.families = [
        _gauge("wx_queue_depth", "Celery messages waiting per queue", ["queue"], depth),
        _gauge("wx_jobs", "Jobs by state and queue", ["state", "queue"], jobs),
        _gauge("wx_worker_hosts", "Worker hosts alive in the registry", [],
               [((), float(len(hosts)))]),
        _gauge("wx_containers", "Running tenant containers, summed over alive hosts", [],
               [((), float(sum(h.containers for h in hosts)))]),
        _histogram("wx_turn_duration_seconds", "Turn duration, by queue and final state",
                   ["queue", "state"], TURN_DURATION_BUCKETS,
                   await redis.hgetall(_TURN_DURATION)),  # type: ignore[misc]
        _histogram("wx_time_to_first_chunk_seconds", "Job start to first assistant chunk",
                   ["queue"], FIRST_CHUNK_BUCKETS, await redis.hgetall(_FIRST_CHUNK)),  # type: ignore[misc]
        _counter("wx_tenant_tokens", "Tokens used, by tenant",
                 await redis.hgetall(_TENANT_TOKENS)),  # type: ignore[misc]
        _counter("wx_tenant_cost_usd", "Claude cost in USD, by tenant",
                 await redis.hgetall(_TENANT_COST)),  # type: ignore[misc]
        _labelled_counter("wx_stdout_lines_skipped", "Claude stdout lines a turn could not "
                          "use, by queue and reason (dropped: over the line cap; non_json, "
                          "unknown, malformed)", ["queue", "reason"],
                          await redis.hgetall(_SKIPPED_LINES)),  # type: ignore[misc]
    ]
