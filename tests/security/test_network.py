"""A tenant container reaches the model API and nothing else (issue 12, Network).

With the Docker executor and real turns (API, Celery worker, claude, the simulator): from
inside a tenant container's network namespace (docker exec as the tenant's user), every port
the stack listens on is refused, the Docker socket is absent, only the egress proxy answers,
and the proxy answers 403 to every host but the model API's, before connecting or resolving.
No probe leaves loopback: the containers have no network, the proxy is a unix socket."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from redis.asyncio import Redis

from app.cli.stack import _Stack, _start_egress
from app.settings import Settings
from tests.helpers import free_port, port_open
from tests.integration.turn_helpers import frames_until_terminal, new_session, queue_turn
from tests.stack import Backend, Worker
from workers.egress_proxy import probe_socket, serve

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("clean_db")]

FORWARDER = "127.0.0.1:3128"
TURN_TIMEOUT_S = 120.0


class CountingListener:
    """A TCP listener on the host's loopback that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.accepted = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def host_service() -> Iterator[CountingListener]:
    """Any other service on the host's loopback (where the UI listens when it runs)."""
    listener = CountingListener()
    yield listener
    listener.close()


@dataclass
class Probed:
    """Two tenants whose containers a real turn each made, and the stack's ports."""

    tenant: str
    other: str
    ports: dict[str, int]
    frames: list[dict[str, Any]]


async def _turn(api: str, token: str, redis: Redis, content: str) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=api, timeout=30,
                                 headers={"Authorization": f"Bearer {token}"}) as http:
        project = await http.post("/api/projects", json={"name": "ERP"})
        assert project.status_code in (200, 201), project.text
        job = await http.post(f"/api/projects/{project.json()['id']}/chat",
                              json={"content": content, "context": "analysis"})
        assert job.status_code == 202, job.text
    return await frames_until_terminal(redis, job.json()["job_id"], timeout=TURN_TIMEOUT_S)


@pytest.fixture
async def probed(
    backend: Backend, celery_worker: Worker, api_server: str, make_token: Callable[[str], str],
    backend_redis: Redis, tenant_id: str, host_service: CountingListener, sim_url: str,
    mongo_url: str, _test_tenants: list[str],
) -> Probed:
    other = f"{tenant_id}b"
    _test_tenants.append(other)  # its container is removed at session end too
    frames = await _turn(api_server, make_token(tenant_id), backend_redis, "hello #sim:text")
    await _turn(api_server, make_token(other), backend_redis, "hello #sim:text")
    ports = {
        "redis": urlsplit(backend.settings.redis_url).port or 6379,
        "mongodb": urlsplit(mongo_url).port or 27017,
        "api": urlsplit(api_server).port or 80,
        "simulator": urlsplit(sim_url).port or 80,
        "ui (a host service)": host_service.port,
    }
    if port_open(6379):
        ports["the machine's redis"] = 6379
    return Probed(tenant_id, other, ports, frames)


def _sh(docker_client: Any, tenant: str, script: str) -> str:
    """Run `script` in the tenant's container as its user (uid 1000); stdout+stderr."""
    container = docker_client.containers.get(f"wx-tenant-{tenant}")
    result = container.exec_run(["sh", "-c", script], user="1000:1000")
    return str(result.output.decode(errors="replace"))


def _via_proxy(docker_client: Any, tenant: str, request: str) -> str:
    """Send a raw HTTP request to the egress proxy through the container's forwarder."""
    host, port = FORWARDER.split(":")
    data = request.replace("\n", "\r\n")
    return _sh(docker_client, tenant, f"printf '{data}' | nc -w 5 {host} {port}")


async def test_a_real_turn_reaches_the_model_api_through_the_proxy(
    probed: Probed, docker_client: Any, artifacts_dir: Path, sim_url: str,
) -> None:
    end = probed.frames[-1]
    assert end["type"] == "session_end" and end["is_error"] is False, end
    assert any(f["type"] == "assistant_chunk" for f in probed.frames)
    info = docker_client.containers.get(f"wx-tenant-{probed.tenant}").attrs
    assert info["HostConfig"]["NetworkMode"] == "none"
    log = (artifacts_dir / "logs" / "egress.log").read_text()
    assert f"egress POST {urlsplit(sim_url).netloc}" in log  # claude's request went this way


async def test_every_port_of_the_stack_is_refused_from_inside(
    probed: Probed, docker_client: Any,
) -> None:
    for what, port in probed.ports.items():
        assert port_open(port), f"{what} is not listening on the host: the probe proves nothing"
        out = _sh(docker_client, probed.tenant, f"nc -w 2 127.0.0.1 {port} </dev/null; echo rc=$?")
        assert "Connection refused" in out and "rc=1" in out, (what, out)
    # The namespace holds only its loopback: no interface, no route, no listener but the
    # container's own forwarder, so no other address (another tenant's included) exists.
    assert _sh(docker_client, probed.tenant, "ls /sys/class/net").split() == ["lo"]
    routes = _sh(docker_client, probed.tenant, "cat /proc/net/route").strip().splitlines()
    assert routes[1:] == [], routes  # the header only
    routes6 = _sh(docker_client, probed.tenant, "cat /proc/net/ipv6_route").split("\n")
    assert all(line.split()[-1] == "lo" for line in routes6 if line.strip()), routes6
    listeners = [line.split()[1] for line in
                 _sh(docker_client, probed.tenant, "cat /proc/net/tcp").splitlines()[1:]
                 if line.split()[3] == "0A"]
    assert listeners == ["0100007F:0C38"]  # 127.0.0.1:3128, the forwarder


async def test_another_tenants_container_is_another_namespace(
    probed: Probed, docker_client: Any,
) -> None:
    mine = _sh(docker_client, probed.tenant, "readlink /proc/self/ns/net").strip()
    theirs = _sh(docker_client, probed.other, "readlink /proc/self/ns/net").strip()
    assert mine.startswith("net:[") and theirs.startswith("net:[") and mine != theirs
    host = Path("/proc/self/ns/net").readlink().name
    assert host not in (mine, theirs)


async def test_another_tenants_files_are_not_in_this_container(
    probed: Probed, docker_client: Any,
) -> None:
    mark = f"wx-mark-{uuid.uuid4().hex}"
    _sh(docker_client, probed.other, f"echo secret > /workspace/{mark}")
    find = f"find / -path /proc -prune -o -name {mark} -print 2>/dev/null"
    assert _sh(docker_client, probed.other, find).split() == [f"/workspace/{mark}"]
    assert _sh(docker_client, probed.tenant, find).split() == []  # no path leads to it


async def test_no_docker_socket_and_only_the_egress_socket(
    probed: Probed, docker_client: Any,
) -> None:
    out = _sh(docker_client, probed.tenant,
              "ls /var/run/docker.sock /run/docker.sock 2>&1; "
              "find / -path /proc -prune -o -path /sys -prune -o -type s -print 2>/dev/null")
    assert out.count("No such file or directory") == 2, out
    sockets = [line for line in out.splitlines() if line.startswith("/")]
    assert sockets == ["/run/wx-egress/egress.sock"], out
    assert "Read-only" in _sh(docker_client, probed.tenant, "touch /run/wx-egress/x 2>&1")


async def test_the_proxy_refuses_every_host_but_the_model_apis(
    probed: Probed, docker_client: Any, host_service: CountingListener, sim_url: str,
) -> None:
    sim = urlsplit(sim_url)
    refused = [
        f"CONNECT 127.0.0.1:{probed.ports['redis']} HTTP/1.1\nHost: x\n\n",
        f"CONNECT localhost:{probed.ports['api']} HTTP/1.1\nHost: x\n\n",
        f"CONNECT 127.0.0.1:{probed.ports['mongodb']} HTTP/1.1\nHost: x\n\n",
        f"CONNECT 127.0.0.1:{host_service.port} HTTP/1.1\nHost: x\n\n",
        "CONNECT example.com:443 HTTP/1.1\nHost: example.com\n\n",
        "CONNECT api.anthropic.com:443 HTTP/1.1\nHost: x\n\n",  # not the configured model API
        f"GET http://127.0.0.1:{host_service.port}/ HTTP/1.1\nHost: x\n\n",
        f"GET http://localhost:{sim.port}/ HTTP/1.1\nHost: x\n\n",  # the simulator by a name
        "GET http://example.com/ HTTP/1.1\nHost: example.com\n\n",
    ]
    accepted_before = host_service.accepted
    for request in refused:
        answer = _via_proxy(docker_client, probed.tenant, request)
        assert answer.startswith("HTTP/1.1 403 Forbidden"), (request, answer)
    assert host_service.accepted == accepted_before  # refused before connecting
    # What is allowed: the model API (here the simulator), by absolute-form http and CONNECT.
    answer = _via_proxy(docker_client, probed.tenant,
                        f"GET http://{sim.netloc}/_sim/served HTTP/1.1\nHost: {sim.netloc}\n\n")
    assert answer.startswith("HTTP/1.1 200"), answer
    answer = _via_proxy(docker_client, probed.tenant,
                        f"CONNECT {sim.netloc} HTTP/1.1\nHost: {sim.netloc}\n\n")
    assert answer.startswith("HTTP/1.1 200 Connection Established"), answer


def _children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _loop_and_forwarders(docker_client: Any, tenant: str) -> tuple[int, list[int]]:
    """Host pids of the tenant container's command (the loop that keeps a forwarder, below
    docker's init) and of the socat forwarders below the loop or orphaned to the init."""
    container = docker_client.containers.get(f"wx-tenant-{tenant}")
    init = int(container.attrs["State"]["Pid"])
    command = "\0".join(container.attrs["Config"]["Cmd"])
    [loop] = [pid for pid in _children(init)
              if Path(f"/proc/{pid}/cmdline").read_text().rstrip("\0") == command]
    forwarders = [pid for pid in [*_children(loop), *_children(init)]
                  if Path(f"/proc/{pid}/comm").read_text().strip() == "socat"]
    return loop, forwarders


async def test_a_forwarder_killed_by_tenant_code_is_started_again(
    probed: Probed, docker_client: Any, make_token: Callable[[str], str], api_server: str,
    backend_redis: Redis,
) -> None:
    # The container's loop would start it again within a second: freeze it, so the turn's
    # own check (the exec wrapper) is what starts the forwarder.
    loop, forwarders = _loop_and_forwarders(docker_client, probed.tenant)
    assert forwarders, "no forwarder to kill: the probe proves nothing"
    os.kill(loop, signal.SIGSTOP)
    try:
        for pid in forwarders:
            os.kill(pid, signal.SIGTERM)
        assert "Connection refused" in _sh(docker_client, probed.tenant,
                                           "sleep 0.3; nc -w 1 127.0.0.1 3128 </dev/null")
        frames = await _turn(api_server, make_token(probed.tenant), backend_redis,
                             "hi #sim:text")
    finally:
        os.kill(loop, signal.SIGCONT)
    assert frames[-1]["type"] == "session_end" and frames[-1]["is_error"] is False, frames[-1]


@pytest.mark.usefixtures("db")
async def test_a_turn_fails_fast_when_the_proxy_is_down(
    backend: Backend, isolated_redis_url: str, start_worker: Callable[..., Worker],
    tenant_id: str, tmp_path: Path, tenant_image: str,
) -> None:
    no_proxy = tmp_path / "no-egress"
    no_proxy.mkdir()
    isolated = backend.with_overrides(redis_url=isolated_redis_url, egress_dir=str(no_proxy))
    worker = start_worker("chat", concurrency=1, redis_url=isolated_redis_url,
                          egress_dir=str(no_proxy))
    redis = Redis.from_url(isolated_redis_url)
    try:
        session = await new_session(tenant_id)
        job = await queue_turn(isolated.settings, redis, session, "hello #sim:text")
        started = time.monotonic()
        frames = await frames_until_terminal(redis, str(job.id), timeout=60)
        elapsed = time.monotonic() - started
    finally:
        worker.stop()
        await redis.aclose()
    end = frames[-1]
    assert (end["type"], end["code"]) == ("error", "executor_failed"), end
    assert "egress proxy" in end["message"], end
    assert elapsed < 15, f"took {elapsed:.1f} s: it should not wait on Claude Code's retries"


# ------------------------------------------------------- the proxy itself, in process


@pytest.fixture
async def proxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                ) -> AsyncIterator[tuple[Path, CountingUpstream, list[str]]]:
    """The proxy on a tmp socket, allowing one upstream of the test's own; the names the
    process resolves are recorded."""
    upstream = await CountingUpstream.start()
    resolved: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        resolved.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording_getaddrinfo)
    settings = Settings(egress_dir=tmp_path / "eg",
                        anthropic_base_url=f"http://127.0.0.1:{upstream.port}")
    ready = asyncio.Event()
    task = asyncio.create_task(serve(settings, ready=ready))
    await asyncio.wait_for(ready.wait(), 5)
    yield settings.egress_socket, upstream, resolved
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await upstream.close()


class CountingUpstream:
    """An HTTP/1.1 server on loopback answering every request with the path it saw."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    @classmethod
    async def start(cls) -> CountingUpstream:
        self = cls()
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        head = await reader.readuntil(b"\r\n\r\n")
        body = head.split(b"\r\n")[0]
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    async def close(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def _ask(path: Path, request: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(65536), 5)
    writer.close()
    return answer


async def test_refusals_neither_connect_nor_resolve(
    proxy: tuple[Path, CountingUpstream, list[str]],
) -> None:
    path, upstream, resolved = proxy
    other = free_port()
    for request in (b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
                    b"CONNECT wx-probe.invalid:%d HTTP/1.1\r\n\r\n" % upstream.port,
                    b"GET http://localhost:%d/ HTTP/1.1\r\n\r\n" % upstream.port,
                    b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % other,
                    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
                    b"garbage\r\n\r\n"):
        answer = await _ask(path, request)
        assert answer.split(b"\r\n")[0] in (b"HTTP/1.1 403 Forbidden",
                                            b"HTTP/1.1 400 Bad Request"), (request, answer)
    assert upstream.connections == 0 and resolved == []


async def test_allowed_requests_are_proxied(
    proxy: tuple[Path, CountingUpstream, list[str]],
) -> None:
    path, upstream, _ = proxy
    answer = await _ask(path, b"POST http://127.0.0.1:%d/v1/messages?beta=true HTTP/1.1\r\n"
                              b"Host: x\r\nContent-Length: 0\r\n\r\n" % upstream.port)
    assert answer.endswith(b"POST /v1/messages?beta=true HTTP/1.1"), answer  # origin-form
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(b"CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\n" % upstream.port)
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 200 Connection Established\r\n\r\n"
    writer.write(b"GET /through-the-tunnel HTTP/1.1\r\n\r\n")
    assert (await asyncio.wait_for(reader.read(65536), 5)).endswith(b"/through-the-tunnel "
                                                                    b"HTTP/1.1")
    writer.close()
    assert upstream.connections == 2


def test_the_dev_stack_starts_the_egress_proxy(tmp_path: Path, sim_url: str) -> None:
    """`wxrunner stack up` starts `wxrunner egress` before the workers (its supervisor
    restarts it like the other services)."""
    env = {**os.environ, "WX_EGRESS_DIR": str(tmp_path / "eg"), "WX_ANTHROPIC_BASE_URL": sim_url}
    settings = Settings(egress_dir=tmp_path / "eg", anthropic_base_url=sim_url)
    stack = _Stack(tmp_path)
    try:
        _start_egress(stack, settings, env)
        assert [s.name for s in stack.services] == ["egress"]
        assert probe_socket(settings.egress_socket) is None
        _start_egress(stack, settings, env)  # a second start finds it running
        assert len(stack.services) == 1
    finally:
        stack.stop()
    assert probe_socket(settings.egress_socket) is not None


async def test_a_container_made_before_the_egress_proxy_is_replaced(
    backend: Backend, docker_client: Any, tenant_image: str, tenant_id: str,
) -> None:
    """A tenant container of an earlier runner (another image, e.g. without the forwarder, or
    another network) is replaced on its next use; the tenant's volumes stay."""
    from workers.executor.docker import DockerExecutor

    old_tag = f"wx-tenant:nettest-{tenant_id}"
    docker_client.images.get(tenant_image).tag(old_tag)
    executor = DockerExecutor(backend.settings)
    try:
        labels = {**executor.labels, "wx.tenant": tenant_id}
        docker_client.containers.run(
            old_tag, name=f"wx-tenant-{tenant_id}", detach=True, labels=labels,
            network_mode="none", user="1000:1000",
            volumes={f"wx-ws-{tenant_id}": {"bind": "/workspace", "mode": "rw"}},
            command=["sh", "-c", "mkdir -p /workspace/p && echo kept > /workspace/p/f; "
                                 "exec sleep 600"])
        await asyncio.sleep(0.5)
        result = await executor.run_command(tenant_id, "p", ["cat", "f"])
        assert result.stdout == b"kept\n"
        info = docker_client.containers.get(f"wx-tenant-{tenant_id}").attrs
        assert info["Config"]["Image"] == tenant_image
        assert any(m["Destination"] == "/run/wx-egress" for m in info["Mounts"])
    finally:
        await executor.close()
        docker_client.images.remove(old_tag)
