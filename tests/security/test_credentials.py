"""Per-tenant Claude credentials (issue 12), through the real API, real Celery workers, the
real claude binary and the simulator, which records which credential each request carried
(a hash and the last 4 characters): each tenant's turn runs with its own credential only,
a tenant without one on the shared fallback or, with it off, refused with `no_credentials`;
the stored value is encrypted, never returned, never logged, never readable by another
tenant (its API calls, its turn's environment, its container)."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pymongo import MongoClient
from redis.asyncio import Redis
from websockets.asyncio.client import connect

from app.events import read_events
from app.models import Job
from tests.helpers import OwnedProcess, start_api_server
from tests.integration.turn_helpers import frames_until_terminal, new_session, queue_turn
from tests.stack import Backend, Worker
from workers.executor._naming import RUN_DIR_IN_CONTAINER, WX_USER, container_name

SHARED_KEY = "sk-ant-sim"  # the backend's anthropic_api_key: the operator's fallback


def _api_key() -> str:
    return f"sk-ant-api03-{secrets.token_urlsafe(40)}-{secrets.token_hex(2)}"


def _oauth_token() -> str:
    return f"sk-ant-oat01-{secrets.token_urlsafe(40)}-{secrets.token_hex(2)}"


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


class Api:
    """Calls of one API process as the tenants would make them."""

    def __init__(self, base_url: str, make_token: Callable[[str], str]) -> None:
        self.base_url = base_url
        self.make_token = make_token

    def client(self, tenant: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base_url, timeout=20, headers={
            "Authorization": f"Bearer {self.make_token(tenant)}"})

    async def link(self, tenant: str, kind: str, value: str) -> httpx.Response:
        async with self.client(tenant) as client:
            return await client.put("/api/credentials/claude", json={"kind": kind,
                                                                     "value": value})

    async def status(self, tenant: str) -> dict[str, Any]:
        async with self.client(tenant) as client:
            response = await client.get("/api/credentials/claude")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def chat(self, tenant: str, prompt: str) -> httpx.Response:
        async with self.client(tenant) as client:
            project = await client.post("/api/projects", json={"name": "legacy"})
            assert project.status_code == 201, project.text
            return await client.post(f"/api/projects/{project.json()['id']}/chat",
                                     json={"content": prompt, "context": "analysis"})


@pytest.fixture
def api(api_server: str, make_token: Callable[[str], str], clean_db: None) -> Api:
    return Api(api_server, make_token)


@pytest.fixture(scope="module")
def strict_api(backend: Backend, artifacts_dir: Path,
               make_token: Callable[[str], str]) -> Iterator[Api]:
    """A second API process of the same stack with the shared fallback switched off."""
    proc: OwnedProcess
    proc, url = start_api_server(backend.with_overrides(shared_credential_fallback=False).env,
                                 artifacts_dir / "logs")
    yield Api(url, make_token)
    proc.stop()


def _stored(backend: Backend, tenant: str) -> list[dict[str, Any]]:
    mongo: MongoClient[Any] = MongoClient(backend.settings.mongo_url)
    try:
        return list(mongo[backend.settings.mongo_db]["tenant_credentials"].find(
            {"tenant_id": tenant}))
    finally:
        mongo.close()


def _sim_requests(sim_url: str, claude_session_id: str) -> list[dict[str, Any]]:
    served = httpx.get(f"{sim_url}/_sim/served", params={"session": claude_session_id}).json()
    assert served, f"the simulator saw no request of Claude session {claude_session_id}"
    return list(served)


def _assert_nowhere_in_logs(artifacts_dir: Path, *secrets_: str) -> None:
    """No log of the stack (API, workers, simulator) holds a secret, nor its first half."""
    for log in (artifacts_dir / "logs").glob("*.log"):
        text = log.read_text(errors="replace")
        for secret in secrets_:
            assert secret[: len(secret) // 2] not in text, f"{log.name} holds a credential"


async def _turn_credentials(redis: Redis, sim_url: str, job_id: str,
                            *secrets_: str) -> set[tuple[str, str]]:
    """(header, hash) of every credential the turn's API requests carried; no frame of the
    turn holds any of `secrets_`."""
    frames = await frames_until_terminal(redis, job_id, timeout=90)
    assert frames[-1]["type"] == "session_end", frames[-1]
    text = orjson.dumps(frames).decode()
    assert not [s for s in secrets_ if s in text or s[-12:] in text]
    started = next(f for f in frames if f["type"] == "job_started")
    return {(r["credential"]["header"], r["credential"]["sha256"])
            for r in _sim_requests(sim_url, started["claude_session_id"])}


# --- the API ----------------------------------------------------------------------------


async def test_link_show_replace_remove_never_returns_the_value(
    api: Api, backend: Backend, tenant_id: str
) -> None:
    key, token = _api_key(), _oauth_token()
    assert await api.status(tenant_id) == {"set": False, "kind": None, "last4": None,
                                           "updated_at": None, "readable": True,
                                           "shared_fallback": True}
    linked = await api.link(tenant_id, "api_key", key)
    assert linked.status_code == 200, linked.text
    assert key not in linked.text and key[:-4] not in linked.text
    shown = await api.status(tenant_id)
    assert (shown["set"], shown["kind"], shown["last4"]) == (True, "api_key", "…" + key[-4:])
    assert key not in orjson.dumps(shown).decode()

    [doc] = _stored(backend, tenant_id)
    clear = orjson.dumps(doc, default=str).decode()
    assert key not in clear and key[-12:] not in clear and key[13:25] not in clear
    assert doc["ciphertext"].startswith("gAAAAA")  # a Fernet token

    replaced = await api.link(tenant_id, "oauth_token", token)
    assert (replaced.json()["kind"], replaced.json()["last4"]) == ("oauth_token",
                                                                   "…" + token[-4:])
    assert len(_stored(backend, tenant_id)) == 1

    async with api.client(tenant_id) as client:
        assert (await client.delete("/api/credentials/claude")).status_code == 204
        again = await client.delete("/api/credentials/claude")
    assert (again.status_code, again.json()["code"]) == (404, "not_found")
    assert (await api.status(tenant_id))["set"] is False
    assert _stored(backend, tenant_id) == []


@pytest.mark.parametrize(("body", "problem"), [
    ({"kind": "api_key", "value": "sk-ant-api03-too short but spaced"}, "paste only the value"),
    ({"kind": "api_key", "value": "sk-ant-api03-x"}, "characters long"),
    ({"kind": "api_key", "value": "OAUTH"}, "oauth_token"),
    ({"kind": "oauth_token", "value": "APIKEY"}, "api_key"),
    ({"kind": "password", "value": "APIKEY"}, "Invalid request"),
    ({"kind": "api_key", "value": "x" * 3000}, "Invalid request"),
    ({"kind": "api_key"}, "Invalid request"),
    ({"kind": "api_key", "value": 12345678901234567890}, "Invalid request"),
])
async def test_a_bad_credential_is_a_clear_400_that_never_echoes_it(
    api: Api, backend: Backend, tenant_id: str, artifacts_dir: Path, body: dict[str, Any],
    problem: str,
) -> None:
    body = {k: {"OAUTH": _oauth_token(), "APIKEY": _api_key()}.get(v, v) if k == "value"
            else v for k, v in body.items()}
    response = await api.link(tenant_id, str(body["kind"]), body.get("value"))  # type: ignore[arg-type]
    assert (response.status_code, response.json()["code"]) == (400, "bad_request")
    assert problem in response.text
    value = str(body.get("value", "")) or "absent"
    assert value not in response.text and value[-10:] not in response.text
    assert _stored(backend, tenant_id) == []
    for log in (artifacts_dir / "logs").glob("api-*.log"):
        assert value not in log.read_text(errors="replace")


async def test_another_tenant_can_neither_read_nor_change_it(
    api: Api, backend: Backend, tenant_id: str
) -> None:
    other = f"{tenant_id}b"
    key = _api_key()
    assert (await api.link(tenant_id, "api_key", key)).status_code == 200
    assert (await api.status(other))["set"] is False
    async with api.client(other) as client:
        refused = await client.delete("/api/credentials/claude")
    assert refused.status_code == 404
    assert (await api.link(other, "api_key", _api_key())).status_code == 200
    mine = await api.status(tenant_id)
    assert (mine["set"], mine["last4"]) == (True, "…" + key[-4:])
    async with httpx.AsyncClient(base_url=api.base_url) as anonymous:
        assert (await anonymous.get("/api/credentials/claude")).status_code == 401
        put = await anonymous.put("/api/credentials/claude",
                                  json={"kind": "api_key", "value": _api_key()})
        assert put.status_code == 401
    assert len(_stored(backend, tenant_id)) == 1


# --- turns ------------------------------------------------------------------------------


async def test_each_turn_runs_with_its_own_tenants_credential(
    api: Api, celery_worker: Worker, backend_redis: Redis, sim_url: str, tenant_id: str,
    artifacts_dir: Path,
) -> None:
    """A's turn carries A's key, B's turn B's subscription token, C (none) the fallback."""
    a, b, c = tenant_id, f"{tenant_id}b", f"{tenant_id}c"
    key, token = _api_key(), _oauth_token()
    assert (await api.link(a, "api_key", key)).status_code == 200
    assert (await api.link(b, "oauth_token", token)).status_code == 200
    accepted = await asyncio.gather(*(api.chat(t, "hello #sim:text") for t in (a, b, c)))
    assert [r.status_code for r in accepted] == [202, 202, 202], [r.text for r in accepted]
    seen = await asyncio.gather(*(_turn_credentials(backend_redis, sim_url, r.json()["job_id"],
                                                    key, token) for r in accepted))
    assert seen[0] == {("x-api-key", _sha(key))}
    assert seen[1] == {("authorization", _sha(token))}
    assert seen[2] == {("x-api-key", _sha(SHARED_KEY))}
    _assert_nowhere_in_logs(artifacts_dir, key, token)


async def test_without_the_fallback_a_tenant_with_no_credential_is_refused_at_admission(
    strict_api: Api, celery_worker: Worker, backend_redis: Redis, sim_url: str,
    tenant_id: str, clean_db: None, db: None,
) -> None:
    assert (await strict_api.status(tenant_id))["shared_fallback"] is False
    refused = await strict_api.chat(tenant_id, "hello #sim:text")
    assert (refused.status_code, refused.json()["code"]) == (409, "no_credentials")
    assert "/settings" in refused.json()["message"]
    assert await Job.find(Job.tenant_id == tenant_id).count() == 0  # nothing queued

    async with strict_api.client(tenant_id) as client:
        project_id = (await client.post("/api/projects", json={"name": "p"})).json()["id"]
    ws_url = f"{strict_api.base_url.replace('http://', 'ws://')}/ws/chat/{project_id}"
    async with connect(ws_url, subprotocols=[  # type: ignore[list-item]
            "bearer", strict_api.make_token(tenant_id)]) as ws:
        await ws.send(orjson.dumps({"type": "message", "content": "hello #sim:text"}).decode())
        frame = orjson.loads(await asyncio.wait_for(ws.recv(), 20))
        assert (frame["type"], frame["code"]) == ("error", "no_credentials")
        await ws.send(orjson.dumps({"type": "ping"}).decode())  # the socket stays open
        assert orjson.loads(await asyncio.wait_for(ws.recv(), 20))["type"] == "pong"

    key = _api_key()
    assert (await strict_api.link(tenant_id, "api_key", key)).status_code == 200
    accepted = await strict_api.chat(tenant_id, "hello #sim:text")
    assert accepted.status_code == 202, accepted.text
    assert await _turn_credentials(backend_redis, sim_url, accepted.json()["job_id"]) == {
        ("x-api-key", _sha(key))}


async def test_without_the_fallback_the_worker_refuses_a_turn_with_one_error_frame(
    backend: Backend, isolated_redis_url: str, start_worker: Callable[..., Worker],
    tenant_id: str, sim_url: str, db: None,
) -> None:
    """A turn admitted while a credential was linked (or the fallback on), run once it is
    gone: the worker ends it before claude runs, with exactly one terminal frame."""
    isolated = backend.with_overrides(redis_url=isolated_redis_url,
                                      shared_credential_fallback=False)
    worker = start_worker("chat", executor="docker", concurrency=1,
                          redis_url=isolated_redis_url, shared_credential_fallback=False)
    redis = Redis.from_url(isolated_redis_url)
    before = httpx.get(f"{sim_url}/_sim/billed").json()["last_seq"]
    try:
        session = await new_session(tenant_id)
        job = await queue_turn(isolated.settings, redis, session, "hello #sim:text")
        frames = await frames_until_terminal(redis, str(job.id), timeout=60)
    finally:
        worker.stop()
        await redis.aclose()
    terminal = [f for f in frames if f["type"] in ("session_end", "error", "cancelled")]
    assert [(f["type"], f["code"]) for f in terminal] == [("error", "no_credentials")]
    assert "/settings" in terminal[0]["message"]
    assert not any(f["type"] == "job_started" for f in frames)
    stored = await Job.get(job.id)
    assert stored is not None and (stored.state, stored.error_code) == ("failed",
                                                                        "no_credentials")
    assert httpx.get(f"{sim_url}/_sim/served", params={"after": before}).json() == []


# --- what a tenant's code can read --------------------------------------------------------


def _read_environs_in_container(tenant: str, job_id: str) -> tuple[str, str]:
    """As the tenant's own user, inside its container: claude's /proc/<pid>/environ, and
    every process's environ concatenated."""
    import docker

    client = docker.from_env()
    try:
        container = client.containers.get(container_name(tenant))
        pid_file = f"{RUN_DIR_IN_CONTAINER}/{job_id}.pid"
        deadline = time.monotonic() + 30
        while True:
            read = f"cat /proc/$(cat {pid_file})/environ"
            code, out = container.exec_run(["/bin/sh", "-c", read], user=WX_USER)
            if code == 0 and b"CLAUDE_CONFIG_DIR" in out:
                break
            assert time.monotonic() < deadline, out
            time.sleep(0.2)
        _, every = container.exec_run(["/bin/sh", "-c", "cat /proc/[0-9]*/environ"],
                                      user=WX_USER)
        config_env = "\n".join(container.attrs["Config"]["Env"] or [])
        return out.decode(errors="replace"), every.decode(errors="replace") + config_env
    finally:
        client.close()


async def _running_job(redis: Redis, job_id: str) -> None:
    """Wait until the turn streams text: its claude process is running."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if any(orjson.loads(raw)["type"] == "assistant_chunk"
               for raw in await read_events(redis, job_id)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} never streamed")


async def test_a_tenants_container_holds_only_its_own_credential(
    api: Api, celery_worker: Worker, backend_redis: Redis, tenant_id: str, sim_url: str
) -> None:
    """During concurrent slow turns of A and B, read /proc/*/environ in each container as
    the tenant's user: its own credential is there (the honest limit), the other tenant's
    and the operator's shared one are not."""
    a, b = tenant_id, f"{tenant_id}b"
    keys = {a: _api_key(), b: _oauth_token()}
    assert (await api.link(a, "api_key", keys[a])).status_code == 200
    assert (await api.link(b, "oauth_token", keys[b])).status_code == 200
    jobs = {}
    for tenant in (a, b):
        accepted = await api.chat(tenant, "a long answer #sim:slow")
        assert accepted.status_code == 202, accepted.text
        jobs[tenant] = accepted.json()["job_id"]
    for tenant, other in ((a, b), (b, a)):
        await _running_job(backend_redis, jobs[tenant])
        claude_env, everything = await asyncio.to_thread(_read_environs_in_container, tenant,
                                                         jobs[tenant])
        assert keys[tenant] in claude_env  # a tenant's code can read its own credential
        assert keys[other] not in everything
        assert SHARED_KEY not in everything
    for job_id in jobs.values():
        await _turn_credentials(backend_redis, sim_url, job_id, *keys.values())


async def test_the_local_executor_gives_a_turn_only_its_tenants_credential(
    api: Api, backend: Backend, isolated_redis_url: str,
    start_worker: Callable[..., Worker], tenant_id: str, db: None,
) -> None:
    """The local executor's claude process (readable by the same uid): its environment holds
    the tenant's key, no other credential and none of the worker's own settings."""
    key = _api_key()
    assert (await api.link(tenant_id, "api_key", key)).status_code == 200
    isolated = backend.with_overrides(redis_url=isolated_redis_url, executor="local")
    worker = start_worker("chat", executor="local", concurrency=1, redis_url=isolated_redis_url)
    redis = Redis.from_url(isolated_redis_url)
    try:
        session = await new_session(tenant_id)
        job = await queue_turn(isolated.settings, redis, session, "a long answer #sim:slow")
        pid_file = Path(backend.settings.data_dir) / "run" / f"{job.id}.pid"
        await _running_job(redis, str(job.id))
        environ = (Path("/proc") / pid_file.read_text().strip() / "environ").read_bytes()
        variables = dict(v.split(b"=", 1) for v in environ.split(b"\0") if b"=" in v)
        assert variables[b"ANTHROPIC_API_KEY"] == key.encode()
        assert SHARED_KEY.encode() not in environ
        assert [k for k in variables if k.startswith(b"WX_")] == [b"WX_JOB_ID"]
        assert b"CLAUDE_CODE_OAUTH_TOKEN" not in variables
        frames = await frames_until_terminal(redis, str(job.id), timeout=90)
    finally:
        worker.stop()
        await redis.aclose()
    assert frames[-1]["type"] == "session_end", frames[-1]
