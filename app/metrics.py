"""Prometheus series of the runner, in one registry.

The API process observes what it sees (open sockets, relay lag, submissions) and, at
scrape time, reads what the workers leave behind: queue depth (Redis list lengths),
jobs by state and queue (Mongo), tokens and cost by tenant (TokenUsageLog). Worker
processes may observe the turn histograms in their own process."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from redis.asyncio import Redis

__all__ = [
    "OPEN_SOCKETS",
    "REGISTRY",
    "RELAY_LAG",
    "TIME_TO_FIRST_CHUNK",
    "TURNS_SUBMITTED",
    "TURN_DURATION",
    "refresh_scrape_metrics",
]

REGISTRY = CollectorRegistry(auto_describe=True)

OPEN_SOCKETS = Gauge("wx_open_sockets", "Open chat WebSockets", registry=REGISTRY)
TURNS_SUBMITTED = Counter(
    "wx_turns_submitted", "Turns submitted, by queue and outcome", ["queue", "outcome"],
    registry=REGISTRY,
)
RELAY_LAG = Histogram(
    "wx_relay_lag_seconds", "Frame timestamp to delivery to a client",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=REGISTRY,
)
TURN_DURATION = Histogram(
    "wx_turn_duration_seconds", "Turn duration, by queue and final state", ["queue", "state"],
    buckets=(1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 7200), registry=REGISTRY,
)
TIME_TO_FIRST_CHUNK = Histogram(
    "wx_time_to_first_chunk_seconds", "Job start to first assistant chunk", ["queue"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=REGISTRY,
)

_QUEUES = ("chat", "conversions")
_Series = list[tuple[tuple[str, ...], float]]


class _ScrapeCollector(Collector):
    """Series read from Redis and Mongo just before each scrape."""

    def __init__(self) -> None:
        self.snapshot: dict[str, _Series] = {}

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        specs = {
            "wx_queue_depth": ("Celery messages waiting per queue", ["queue"]),
            "wx_jobs": ("Jobs by state and queue", ["state", "queue"]),
            "wx_tenant_tokens": ("Tokens used, by tenant (TokenUsageLog)", ["tenant"]),
            "wx_tenant_cost_usd": ("Cost in USD, by tenant (TokenUsageLog)", ["tenant"]),
        }
        for name, (doc, labels) in specs.items():
            family = GaugeMetricFamily(name, doc, labels=labels)
            for label_values, value in self.snapshot.get(name, []):
                family.add_metric(list(label_values), value)
            yield family


_SCRAPE = _ScrapeCollector()
REGISTRY.register(_SCRAPE)


async def refresh_scrape_metrics(redis: Redis) -> None:
    """Read queue depth, jobs by state and usage by tenant for the next scrape."""
    from app.models import Job, TokenUsageLog

    depth: _Series = [((q,), float(await redis.llen(q))) for q in _QUEUES]
    jobs_pipeline: list[dict[str, Any]] = [
        {"$group": {"_id": {"state": "$state", "queue": "$queue"}, "n": {"$sum": 1}}}
    ]
    rows = await (await Job.get_pymongo_collection().aggregate(jobs_pipeline)).to_list(1000)
    jobs: _Series = [((str(r["_id"]["state"]), str(r["_id"]["queue"])), float(r["n"]))
                     for r in rows]
    usage_pipeline: list[dict[str, Any]] = [{"$group": {
        "_id": "$tenant_id",
        "tokens": {"$sum": {"$add": ["$input_tokens", "$output_tokens",
                                     "$cache_creation_tokens", "$cache_read_tokens"]}},
        "cost": {"$sum": "$total_cost_usd"},
    }}]
    usage = await (await TokenUsageLog.get_pymongo_collection().aggregate(usage_pipeline)).to_list(
        100_000)
    _SCRAPE.snapshot = {
        "wx_queue_depth": depth,
        "wx_jobs": jobs,
        "wx_tenant_tokens": [((str(r["_id"]),), float(r["tokens"])) for r in usage],
        "wx_tenant_cost_usd": [((str(r["_id"]),), float(r["cost"])) for r in usage],
    }
