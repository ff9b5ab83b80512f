"""`/metrics` of the real API after a real turn (WebSocket, Celery worker with the docker
executor, claude against the simulator): every series issue 6 names is exported, the
worker's ones read back from Redis, with the values a turn makes non-zero."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import orjson
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from app.protocol import is_terminal
from tests.integration.conftest import Backend

pytestmark = pytest.mark.usefixtures("clean_db", "db", "celery_worker")

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(api_server: str, token: str) -> Samples:
    response = httpx.get(f"{api_server}/metrics", timeout=10,
                         headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    text = response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _value(samples: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"{name}{labels} is not exported: {sorted(k for k in samples)}"
    return samples[key]


def _scrape_until(api_server: str, token: str, check: Callable[[Samples], bool],
                  timeout: float) -> Samples:
    deadline = time.monotonic() + timeout
    while True:
        samples = _scrape(api_server, token)
        if check(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.2)


async def test_metrics_expose_every_named_series_after_a_turn(
    api_server: str, make_token: Callable[[str], str], tenant_id: str, backend: Backend
) -> None:
    assert backend.settings.metrics_token is not None
    scrape_token = backend.settings.metrics_token.get_secret_value()
    headers = {"authorization": f"Bearer {make_token(tenant_id)}"}
    project = httpx.post(f"{api_server}/api/projects", json={"name": "erp"}, headers=headers)
    assert project.status_code == 201, project.text
    url = api_server.replace("http://", "ws://") + f"/ws/chat/{project.json()['id']}"
    protocols = ["bearer", make_token(tenant_id)]
    async with websockets.connect(url, subprotocols=protocols) as ws:  # type: ignore[arg-type]
        await ws.send(orjson.dumps({"type": "message", "content": "Explain the project"}))
        while True:
            frame = orjson.loads(await ws.recv())
            if is_terminal(frame["type"]):
                break
        assert frame["type"] == "session_end", frame
        # The worker's host heartbeat (every second in the tests) reports the container.
        during = _scrape_until(api_server, scrape_token,
                               lambda s: s.get(("wx_containers", ()), 0) >= 1, 10)

    assert _value(during, "wx_open_sockets") >= 1
    assert _value(during, "wx_containers") >= 1
    assert _value(during, "wx_worker_hosts") >= 1
    samples = _scrape(api_server, scrape_token)
    assert _value(samples, "wx_jobs", state="succeeded", queue="chat") == 1
    assert _value(samples, "wx_queue_depth", queue="chat") >= 0
    assert _value(samples, "wx_queue_depth", queue="conversions") >= 0
    assert _value(samples, "wx_queue_depth", queue=f"chat.{backend.settings.worker_host}") >= 0
    assert _value(samples, "wx_turns_submitted_total", queue="chat", outcome="queued") >= 1
    done = {"queue": "chat", "state": "succeeded"}
    assert _value(samples, "wx_turn_duration_seconds_count", **done) == 1
    assert _value(samples, "wx_turn_duration_seconds_sum", **done) > 0
    assert _value(samples, "wx_turn_duration_seconds_bucket", **done, le="+Inf") == 1
    assert _value(samples, "wx_time_to_first_chunk_seconds_count", queue="chat") == 1
    assert _value(samples, "wx_time_to_first_chunk_seconds_bucket", queue="chat",
                  le="+Inf") == 1
    assert _value(samples, "wx_relay_lag_seconds_count") >= 1
    assert _value(samples, "wx_tenant_tokens_total", tenant=tenant_id) > 0
    assert _value(samples, "wx_tenant_cost_usd_total", tenant=tenant_id) > 0
    closed = _scrape_until(api_server, scrape_token,
                           lambda s: s.get(("wx_open_sockets", ()), 1) == 0, 5)
    assert _value(closed, "wx_open_sockets") == 0


def test_metrics_need_the_scrapers_token(
    api_server: str, make_token: Callable[[str], str], tenant_id: str, backend: Backend
) -> None:
    """Every tenant's tokens and cost are in the metrics: no token, a wrong one, or a
    tenant's own bearer token are all refused."""
    for headers in ({}, {"authorization": "Bearer wrong"},
                    {"authorization": f"Bearer {make_token(tenant_id)}"},
                    {"authorization": f"Basic {backend.values['metrics_token']}"}):
        response = httpx.get(f"{api_server}/metrics", headers=headers, timeout=10)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["code"] == "unauthorized"
        assert "wx_tenant" not in response.text
