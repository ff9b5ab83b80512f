"""Tenant B, with its own valid token, on everything of tenant A: every REST route and
every client frame type of the socket (listed from the app and app/protocol.py, so a new
route or frame without a probe here fails the suite) answers 404 or shows nothing of A,
and A's documents and Redis keys are unchanged afterwards."""

from __future__ import annotations

import time
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
import websockets
from fastapi.routing import APIWebSocketRoute
from pymongo import MongoClient

from app.keys import cancel_key
from app.main import create_app
from app.protocol import ClientFrame
from app.vocab import TERMINAL_STATES
from tests.stack import Backend

pytestmark = pytest.mark.usefixtures("clean_db")

A_COLLECTIONS = ("projects", "jobs", "chat_sessions", "chat_messages", "webhooks",
                 "webhook_deliveries", "token_usage_logs", "tenant_credentials")
A_KEY = "sk-ant-api03-" + "a" * 40 + "-a1b2"  # tenant A's linked credential

# Routes that belong to no tenant, and why they are not probed with B's token.
PUBLIC = {
    ("GET", "/healthz"): "liveness, no data",
    ("GET", "/readyz"): "dependency names only",
    ("GET", "/metrics"): "the scraper's own token (test_web, test_metrics)",
    ("POST", "/api/signin/redeem"): "a one-time code, no bearer token (test_web)",
}


@dataclass
class World:
    api: str
    a: dict[str, str]
    b: dict[str, str]
    a_tenant: str
    b_tenant: str
    project: str
    job: str
    session: str
    webhook: str
    b_project: str

    def as_b(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(method, f"{self.api}{path}", headers=self.b, timeout=15, **kwargs)


def _snapshot(backend: Backend, tenant: str) -> dict[str, list[Any]]:
    client: MongoClient[Any] = MongoClient(backend.settings.mongo_url)
    try:
        db = client[backend.settings.mongo_db]
        return {name: sorted((orjson.dumps(d, default=str) for d in
                              db[name].find({"tenant_id": tenant})), key=bytes)
                for name in A_COLLECTIONS}
    finally:
        client.close()


@pytest.fixture
def world(api_server: str, make_token: Callable[[str], str], tenant_id: str,
          celery_worker: Any) -> Iterator[World]:
    a_tenant, b_tenant = tenant_id, f"{tenant_id}b"
    a = {"authorization": f"Bearer {make_token(a_tenant)}"}
    b = {"authorization": f"Bearer {make_token(b_tenant)}"}

    def post(path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.post(f"{api_server}{path}", json=body, headers=headers, timeout=15)
        assert response.status_code in (201, 202), (path, response.text)
        result: dict[str, Any] = response.json()
        return result

    project = post("/api/projects", a, {"name": "a-secret"})["id"]
    chat = post(f"/api/projects/{project}/chat", a, {"content": "hello"})
    webhook = post("/api/webhooks", a, {"url": "http://127.0.0.1:9/a",
                                        "events": ["job.failed"]})["id"]
    b_project = post("/api/projects", b, {"name": "b-own"})["id"]
    linked = httpx.put(f"{api_server}/api/credentials/claude", headers=a, timeout=15,
                       json={"kind": "api_key", "value": A_KEY})
    assert linked.status_code == 200, linked.text
    _until_ended(api_server, a, chat["job_id"])  # A's turn changes A's data only before this
    yield World(api_server, a, b, a_tenant, b_tenant, project, chat["job_id"],
                chat["session_id"], webhook, b_project)


def _until_ended(api: str, headers: dict[str, str], job_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while (state := httpx.get(f"{api}/api/jobs/{job_id}", headers=headers,
                              timeout=15).json()["state"]) not in TERMINAL_STATES:
        assert time.monotonic() < deadline, f"A's turn still {state}"
        time.sleep(0.1)


def _not_found(response: httpx.Response) -> None:
    assert response.status_code == 404, (response.request.url, response.status_code,
                                         response.text[:300])
    assert response.json()["code"] == "not_found"


def _no_a(response: httpx.Response, w: World) -> None:
    assert response.status_code in (200, 201), response.text[:300]
    for secret in (w.project, w.job, w.session, w.webhook, w.a_tenant + '"', "a-secret"):
        assert secret not in response.text, secret


def _probe_list_projects(w: World) -> None:
    _no_a(w.as_b("GET", "/api/projects"), w)


def _probe_create_project(w: World) -> None:
    _no_a(w.as_b("POST", "/api/projects", json={"name": "b-second"}), w)


def _probe_upload(w: World) -> None:
    _not_found(w.as_b("POST", f"/api/projects/{w.project}/files",
                      files={"file": ("x.txt", b"planted by b")}))


def _probe_chat(w: World) -> None:
    _not_found(w.as_b("POST", f"/api/projects/{w.project}/chat", json={"content": "hi"}))
    _not_found(w.as_b("POST", f"/api/projects/{w.b_project}/chat",
                      json={"content": "hi", "session_id": w.session}))


def _probe_cancel(w: World) -> None:
    _not_found(w.as_b("DELETE", f"/api/jobs/{w.job}"))


def _probe_create_webhook(w: World) -> None:
    hook = {"url": "http://127.0.0.1:9/b", "events": ["job.failed"]}
    _no_a(w.as_b("POST", "/api/webhooks", json=hook), w)


def _probe_limits(w: World) -> None:
    response = w.as_b("GET", "/api/limits")
    _no_a(response, w)
    use = response.json()["use"]
    assert (use.get("queued_turns", 0), use.get("running_turns", 0)) == (0, 0), use


def _probe_read_credential(w: World) -> None:
    shown = w.as_b("GET", "/api/credentials/claude")
    _no_a(shown, w)
    assert shown.json()["set"] is False and "a1b2" not in shown.text, shown.text


def _probe_link_credential(w: World) -> None:
    body = {"kind": "api_key", "value": "sk-ant-api03-" + "b" * 40 + "-b1b2"}
    assert w.as_b("PUT", "/api/credentials/claude", json=body).json()["last4"].endswith("b1b2")


def _probe_unlink_credential(w: World) -> None:
    _not_found(w.as_b("DELETE", "/api/credentials/claude"))  # B has none; A's stays


def _get_404(template: str) -> Callable[[World], None]:
    def probe(w: World) -> None:
        _not_found(w.as_b("GET", template.format(w=w)))
    return probe


PROBES: dict[tuple[str, str], Callable[[World], None]] = {
    ("GET", "/api/projects"): _probe_list_projects,
    ("POST", "/api/projects"): _probe_create_project,
    ("GET", "/api/projects/{project_id}"): _get_404("/api/projects/{w.project}"),
    ("GET", "/api/projects/{project_id}/files"): _get_404("/api/projects/{w.project}/files"),
    ("POST", "/api/projects/{project_id}/files"): _probe_upload,
    ("GET", "/api/projects/{project_id}/files/{path}"):
        _get_404("/api/projects/{w.project}/files/README.md"),
    ("GET", "/api/projects/{project_id}/archive"): _get_404("/api/projects/{w.project}/archive"),
    ("POST", "/api/projects/{project_id}/chat"): _probe_chat,
    ("GET", "/api/jobs/{job_id}"): _get_404("/api/jobs/{w.job}"),
    ("DELETE", "/api/jobs/{job_id}"): _probe_cancel,
    ("GET", "/api/jobs/{job_id}/events"): _get_404("/api/jobs/{w.job}/events"),
    ("GET", "/api/jobs/{job_id}/changes"): _get_404("/api/jobs/{w.job}/changes"),
    ("POST", "/api/jobs/{job_id}/revert"):
        lambda w: _not_found(w.as_b("POST", f"/api/jobs/{w.job}/revert")),
    ("GET", "/api/projects/{project_id}/sessions"):
        _get_404("/api/projects/{w.project}/sessions"),
    ("GET", "/api/sessions/{session_id}/messages"):
        _get_404("/api/sessions/{w.session}/messages"),
    ("GET", "/api/projects/{project_id}/token-usage"):
        _get_404("/api/projects/{w.project}/token-usage"),
    ("GET", "/api/usage"): lambda w: _no_a(w.as_b("GET", "/api/usage"), w),
    ("GET", "/api/limits"): _probe_limits,
    ("GET", "/api/webhooks"): lambda w: _no_a(w.as_b("GET", "/api/webhooks"), w),
    ("POST", "/api/webhooks"): _probe_create_webhook,
    ("DELETE", "/api/webhooks/{webhook_id}"):
        lambda w: _not_found(w.as_b("DELETE", f"/api/webhooks/{w.webhook}")),
    ("GET", "/api/webhooks/{webhook_id}/deliveries"):
        _get_404("/api/webhooks/{w.webhook}/deliveries"),
    ("GET", "/api/credentials/claude"): _probe_read_credential,
    ("PUT", "/api/credentials/claude"): _probe_link_credential,
    ("DELETE", "/api/credentials/claude"): _probe_unlink_credential,
}


def _http_routes() -> set[tuple[str, str]]:
    spec = create_app().openapi()
    return {(method.upper(), path) for path, ops in spec["paths"].items() for method in ops}


def _socket_routes() -> set[str]:
    def walk(routes: list[Any], prefix: str = "") -> Iterator[str]:
        for route in routes:
            inner = getattr(route, "original_router", None)
            if inner is not None:
                yield from walk(inner.routes, prefix + route.include_context.prefix)
            elif isinstance(route, APIWebSocketRoute):
                yield prefix + route.path
    return set(walk(create_app().router.routes))


def _client_frame_types() -> set[str]:
    union = typing.get_args(ClientFrame)[0]
    return {model.model_fields["type"].default for model in typing.get_args(union)}


def test_every_route_and_frame_type_has_a_probe() -> None:
    routes = _http_routes()
    assert routes - PROBES.keys() - PUBLIC.keys() == set(), "a route without a cross-tenant probe"
    assert PROBES.keys() - routes == set(), "a probe of a route that is gone"
    assert _socket_routes() == {"/ws/chat/{project_id}"}, "a socket route without a probe"
    assert _client_frame_types() == set(FRAME_PROBES), "a client frame type without a probe"


@pytest.mark.parametrize("route", sorted(PROBES), ids=lambda r: f"{r[0]} {r[1]}")
async def test_tenant_b_on_tenant_a(world: World, backend: Backend, backend_redis: Any,
                                    route: tuple[str, str]) -> None:
    before = _snapshot(backend, world.a_tenant)
    PROBES[route](world)
    assert _snapshot(backend, world.a_tenant) == before
    assert await backend_redis.exists(cancel_key(world.job)) == 0
    job = httpx.get(f"{world.api}/api/jobs/{world.job}", headers=world.a).json()
    assert job["cancel_requested"] is False and job["state"] != "cancelled", job


# --- the socket: B's handshake on A's project, and each client frame type on B's own socket


async def test_b_cannot_open_a_socket_on_as_project(world: World) -> None:
    url = world.api.replace("http://", "ws://") + f"/ws/chat/{world.project}"
    token = world.b["authorization"].split()[1]
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with websockets.connect(url, subprotocols=["bearer", token]):  # type: ignore[list-item]
            pass
    assert refused.value.response.status_code == 404


FRAME_PROBES: dict[str, Callable[[World], dict[str, Any]]] = {
    "message": lambda w: {"type": "message", "content": "hi", "session_id": w.session},
    "cancel": lambda w: {"type": "cancel", "job_id": w.job},
    "resume": lambda w: {"type": "resume", "job_id": w.job, "after_seq": 0},
    "ping": lambda w: {"type": "ping"},
}


@pytest.mark.parametrize("frame_type", sorted(FRAME_PROBES))
async def test_b_frames_on_its_own_socket_reach_nothing_of_a(
    world: World, backend: Backend, backend_redis: Any, frame_type: str
) -> None:
    before = _snapshot(backend, world.a_tenant)
    url = world.api.replace("http://", "ws://") + f"/ws/chat/{world.b_project}"
    token = world.b["authorization"].split()[1]
    async with websockets.connect(url, subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        await ws.send(orjson.dumps(FRAME_PROBES[frame_type](world)))
        raw = await ws.recv()
        frame = orjson.loads(raw)
        if frame_type == "ping":
            assert frame["type"] == "pong", frame
        else:
            assert frame["type"] == "error" and frame["code"] == "not_found", frame
        for secret in (world.project, world.a_tenant + '"', "a-secret", "hello"):
            assert str(secret) not in str(raw)
    assert _snapshot(backend, world.a_tenant) == before
    assert await backend_redis.exists(cancel_key(world.job)) == 0
