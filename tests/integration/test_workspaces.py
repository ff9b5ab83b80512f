"""Workspaces through the real stack and the Docker executor: an API process (no Docker of its
own) reaches the tenant's container through the workspace service of a Celery worker, over a
Redis of this module's own (so no other test's worker serves its requests). Uploads (zip,
tar.gz, one file), hostile entries refused with nothing written, browsing and reading (a
Windows-1252 file), a `#sim:write` conversion turn committed with its files_changed frame,
its changes and diff, revert, download, queue positions, webhooks, and 404 across tenants."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import stat
import tarfile
import threading
import time
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from redis.asyncio import Redis

from tests.helpers import free_port, start_api_server, start_redis_server
from tests.integration.turn_helpers import frames_until_terminal
from tests.stack import Backend, Worker

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("clean_db")]

WINDEV = "PROCEDURE CalculaTotal()\r\n// Cálculo do preço com ação de exportação\r\nRENVOYER 0\r\n"
NOTES = "# Notes of the ERP\nline two\n"
TURN_TIMEOUT_S = 120.0


@dataclass
class WsStack:
    api: str
    backend: Backend
    worker: Worker


@pytest.fixture(scope="module")
def ws_stack(backend: Backend, start_worker: Callable[..., Worker], tenant_image: str,
             tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[WsStack]:
    redis_proc, redis_url = start_redis_server(tmp_path_factory.mktemp("redis-ws"),
                                               artifacts_dir / "logs" / "redis-ws.log")
    overrides = {"redis_url": redis_url, "worker_host": f"wshost{free_port()}",
                 "webhook_allow_private": True, "webhook_retry_base_s": 0.5,
                 "webhook_poll_s": 0.2, "upload_max_files": 300,
                 "upload_max_unpacked_bytes": 30 * 1024 * 1024,
                 "upload_max_bytes": 20 * 1024 * 1024, "upload_max_path_length": 200}
    ws_backend = backend.with_overrides(**overrides)
    worker = start_worker("chat,conversions", executor="docker", **overrides)
    api, url = start_api_server(ws_backend.env, artifacts_dir / "logs")
    yield WsStack(url, ws_backend, worker)
    api.stop()
    worker.stop()
    redis_proc.stop()


@pytest.fixture
async def redis(ws_stack: WsStack) -> AsyncIterator[Redis]:
    client = Redis.from_url(ws_stack.backend.settings.redis_url)
    yield client
    await client.aclose()


class Tenant:
    """A tenant's REST client on the stack."""

    def __init__(self, api: str, token: str) -> None:
        self.http = httpx.AsyncClient(base_url=api, timeout=60,
                                      headers={"Authorization": f"Bearer {token}"})

    async def project(self) -> str:
        response = await self.http.post("/api/projects", json={"name": "ERP Vendas"})
        return str(response.json()["id"])

    async def upload(self, pid: str, name: str, data: bytes, path: str | None = None
                     ) -> httpx.Response:
        form = {"path": path} if path is not None else None
        return await self.http.post(f"/api/projects/{pid}/files", data=form,
                                    files={"file": (name, data)})

    async def tree(self, pid: str, path: str = "") -> dict[str, dict[str, Any]]:
        response = await self.http.get(f"/api/projects/{pid}/files", params={"path": path})
        assert response.status_code == 200, response.text
        return {e["path"]: e for e in response.json()["entries"]}

    async def download(self, pid: str, path: str = "") -> dict[str, bytes]:
        response = await self.http.get(f"/api/projects/{pid}/archive", params={"path": path})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        archive = zipfile.ZipFile(io.BytesIO(response.content))
        return {i.filename: archive.read(i) for i in archive.infolist() if not i.is_dir()}

    async def turn(self, pid: str, content: str, redis: Redis, *, context: str = "conversion",
                   session_id: str | None = None) -> tuple[str, list[dict[str, Any]]]:
        job = await self.submit(pid, content, context=context, session_id=session_id)
        return job["job_id"], await frames_until_terminal(redis, job["job_id"],
                                                          timeout=TURN_TIMEOUT_S)

    async def submit(self, pid: str, content: str, *, context: str = "conversion",
                     session_id: str | None = None) -> dict[str, Any]:
        response = await self.http.post(f"/api/projects/{pid}/chat", json={
            "content": content, "context": context, "session_id": session_id})
        assert response.status_code == 202, response.text
        return dict(response.json())


@pytest.fixture
async def tenant(ws_stack: WsStack, make_token: Callable[[str], str],
                 tenant_id: str) -> AsyncIterator[Tenant]:
    client = Tenant(ws_stack.api, make_token(tenant_id))
    yield client
    await client.http.aclose()


@pytest.fixture
async def stranger(ws_stack: WsStack, make_token: Callable[[str], str],
                   tenant_id: str) -> AsyncIterator[Tenant]:
    client = Tenant(ws_stack.api, make_token(f"{tenant_id}x"))
    yield client
    await client.http.aclose()


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


def _tar_gz(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _project_files() -> dict[str, bytes]:
    return {"Projeto/WIN_Vendas.wdw": WINDEV.encode("cp1252"), "notes.md": NOTES.encode(),
            "Projeto/Relatorios/vazio.txt": b""}


def _in_container(docker_client: Any, tenant: str, pid: str) -> dict[str, bytes]:
    """The project's files as the container holds them (docker's own archive of the folder)."""
    container = docker_client.containers.get(f"wx-tenant-{tenant}")
    stream, _ = container.get_archive(f"/workspace/{pid}")
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
        return {m.name.partition("/")[2]: archive.extractfile(m).read()  # type: ignore[union-attr]
                for m in archive.getmembers() if m.isfile()}


def _owners(docker_client: Any, tenant: str, pid: str) -> set[str]:
    container = docker_client.containers.get(f"wx-tenant-{tenant}")
    out = container.exec_run(["sh", "-c", f"find /workspace/{pid} -exec stat -c %u:%g {{}} +"])
    return set(out.output.decode().split())


# ---------------------------------------------------------------- upload, browse, download


async def test_zip_upload_browse_read_and_download(tenant: Tenant, docker_client: Any,
                                                   tenant_id: str) -> None:
    pid = await tenant.project()
    files = _project_files()
    response = await tenant.upload(pid, "erp.zip", _zip(files))
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["files"], body["bytes"]) == (3, sum(map(len, files.values())))
    assert len(body["commit"]) == 40

    tree = await tenant.tree(pid)
    assert {p: (e["kind"], e["size"]) for p, e in tree.items()} == {
        "Projeto": ("dir", 0), "Projeto/Relatorios": ("dir", 0),
        "Projeto/Relatorios/vazio.txt": ("file", 0),
        "Projeto/WIN_Vendas.wdw": ("file", len(files["Projeto/WIN_Vendas.wdw"])),
        "notes.md": ("file", len(NOTES))}
    assert set(await tenant.tree(pid, "Projeto/Relatorios")) == {"Projeto/Relatorios/vazio.txt"}

    shown = (await tenant.http.get(f"/api/projects/{pid}/files/Projeto/WIN_Vendas.wdw")).json()
    assert shown["encoding"] == "cp1252" and shown["content"] == WINDEV
    assert not shown["binary"] and not shown["truncated"]

    # the bytes are kept as they are (Windows-1252, CRLF), owned by the tenant's user
    assert _in_container(docker_client, tenant_id, pid) == files
    assert _owners(docker_client, tenant_id, pid) == {"1000:1000"}
    assert await tenant.download(pid) == files
    assert await tenant.download(pid, "Projeto") == {
        "WIN_Vendas.wdw": files["Projeto/WIN_Vendas.wdw"], "Relatorios/vazio.txt": b""}


async def test_tar_gz_and_single_file_uploads(tenant: Tenant, docker_client: Any,
                                              tenant_id: str) -> None:
    pid = await tenant.project()
    response = await tenant.upload(pid, "erp.tar.gz", _tar_gz(_project_files()))
    assert response.status_code == 201, response.text
    one = await tenant.upload(pid, "ignored-name.bin", b"\x00\x01binary", path="bin/data.bin")
    assert one.status_code == 201 and one.json()["files"] == 1
    plain = await tenant.upload(pid, "LEIAME.txt", "Olá".encode("cp1252"))
    assert plain.status_code == 201
    into = await tenant.upload(pid, "more.zip", _zip({"x.txt": b"x"}), path="vendor/lib")
    assert into.status_code == 201
    held = _in_container(docker_client, tenant_id, pid)
    assert held == {**_project_files(), "bin/data.bin": b"\x00\x01binary",
                    "LEIAME.txt": "Olá".encode("cp1252"), "vendor/lib/x.txt": b"x"}
    binary = (await tenant.http.get(f"/api/projects/{pid}/files/bin/data.bin")).json()
    assert binary["binary"] is True and binary["content"] is None
    missing = await tenant.http.get(f"/api/projects/{pid}/files/nope.txt")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    escape = await tenant.http.get(f"/api/projects/{pid}/files", params={"path": "../"})
    assert escape.status_code == 400 and escape.json()["code"] == "bad_request"


def _zip_with(name: str, *, mode: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("ok.txt", b"benign")
        info = zipfile.ZipInfo(name)
        if mode:
            info.create_system, info.external_attr = 3, mode << 16
        archive.writestr(info, b"/etc/passwd" if stat.S_ISLNK(mode) else b"evil")
    return buf.getvalue()


def _tar_with(kind: bytes, name: str = "evil") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        ok = tarfile.TarInfo("ok.txt")
        ok.size = 6
        archive.addfile(ok, io.BytesIO(b"benign"))
        bad = tarfile.TarInfo(name)
        bad.type = kind
        if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
            bad.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else "ok.txt"
        if kind == tarfile.REGTYPE:
            bad.size = 4
            archive.addfile(bad, io.BytesIO(b"evil"))
        else:
            archive.addfile(bad)
    return buf.getvalue()


HOSTILE = {
    "zip ../": ("a.zip", _zip_with("../evil.txt"), "../evil.txt"),
    "zip absolute": ("a.zip", _zip_with("/etc/evil.txt"), "/etc/evil.txt"),
    "zip backslash": ("a.zip", _zip_with("..\\..\\evil.txt"), "evil.txt"),
    "zip drive letter": ("a.zip", _zip_with("C:/Windows/evil.txt"), "C:/Windows"),
    "zip symlink": ("a.zip", _zip_with("link", mode=stat.S_IFLNK | 0o777), "link"),
    "zip device": ("a.zip", _zip_with("dev", mode=stat.S_IFCHR | 0o644), "dev"),
    "tar ../": ("a.tar", _tar_with(tarfile.REGTYPE, "../../evil"), "../../evil"),
    "tar symlink": ("a.tar", _tar_with(tarfile.SYMTYPE), "evil"),
    "tar hard link": ("a.tar.gz", _tar_with(tarfile.LNKTYPE), "evil"),
    "tar char device": ("a.tar", _tar_with(tarfile.CHRTYPE), "evil"),
    "tar fifo": ("a.tar", _tar_with(tarfile.FIFOTYPE), "evil"),
    "path too long": ("a.zip", _zip({"ok.txt": b"1", "d/" * 120 + "x": b"2"}), "d/d/"),
    "too many files": ("a.zip", _zip({f"f{i}.txt": b"" for i in range(301)}), "300 files"),
    "unpacks too big": ("a.zip", _zip({"ok.txt": b"1", "big.bin": b"\0" * (31 << 20)}),
                        "unpacks"),
    "single file escaping": ("x.txt", b"x", "../x.txt"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
async def test_hostile_uploads_refused_and_nothing_written(
        tenant: Tenant, docker_client: Any, tenant_id: str, case: str) -> None:
    name, data, named = HOSTILE[case]
    pid = await tenant.project()
    path = "../x.txt" if case == "single file escaping" else None
    response = await tenant.upload(pid, name, data, path=path)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["code"] == "bad_request" and named in error["message"], error
    assert await tenant.tree(pid) == {}
    assert _in_container(docker_client, tenant_id, pid) == {}


# ---------------------------------------------------------------- a conversion turn


async def test_sim_write_turn_commits_lists_diffs_reverts_and_downloads(
        tenant: Tenant, redis: Redis, docker_client: Any, tenant_id: str) -> None:
    pid = await tenant.project()
    assert (await tenant.upload(pid, "erp.zip", _zip(_project_files()))).status_code == 201
    job_id, frames = await tenant.turn(pid, "Convert notes.md to Python #sim:write", redis)
    types = [f["type"] for f in frames]
    assert types[-1] == "session_end" and not frames[-1]["is_error"], frames[-1]
    assert types[-2] == "files_changed", types
    changed = frames[-2]
    assert [(f["path"], f["status"]) for f in changed["files"]] == [
        ("converted/notes.py", "added"), ("notes.md", "modified")]
    assert changed["total"] == 2 and not changed["truncated"]
    uses = [f["tool"] for f in frames if f["type"] == "tool_use"]
    assert uses == ["Read", "Write", "Edit", "Edit"], uses

    held = _in_container(docker_client, tenant_id, pid)
    converted = held["converted/notes.py"].decode()
    assert "# Ported: every procedure" in converted and "TODO" not in converted
    assert held["notes.md"].decode().startswith(
        "# Notes of the ERP (converted: converted/notes.py)\n")
    assert held["Projeto/WIN_Vendas.wdw"] == WINDEV.encode("cp1252")  # untouched
    assert await tenant.download(pid) == held

    changes = (await tenant.http.get(f"/api/jobs/{job_id}/changes")).json()
    assert changes["commit"] == changed["commit"] and changes["parent"]
    by_path = {f["path"]: f for f in changes["files"]}
    assert set(by_path) == {"converted/notes.py", "notes.md"}
    notes = by_path["notes.md"]
    assert (notes["status"], notes["additions"], notes["deletions"]) == ("modified", 1, 1)
    assert "-# Notes of the ERP\n" in notes["diff"]
    assert "+# Notes of the ERP (converted: converted/notes.py)\n" in notes["diff"]
    added = by_path["converted/notes.py"]
    assert added["status"] == "added" and added["deletions"] == 0
    assert [line[1:] for line in added["diff"].splitlines() if line.startswith("+")
            and not line.startswith("+++")] == converted.splitlines()

    reverted = await tenant.http.post(f"/api/jobs/{job_id}/revert")
    assert reverted.status_code == 200, reverted.text
    assert reverted.json()["restored"] == changes["parent"]
    assert {(f["path"], f["status"]) for f in reverted.json()["files"]} == {
        ("converted/notes.py", "deleted"), ("notes.md", "modified")}
    assert _in_container(docker_client, tenant_id, pid) == _project_files()
    assert "converted" not in await tenant.tree(pid)  # its emptied folder went too


async def test_changes_of_an_analysis_turn_are_empty(tenant: Tenant, redis: Redis) -> None:
    pid = await tenant.project()
    job_id, frames = await tenant.turn(pid, "Explain #sim:text", redis, context="analysis")
    assert frames[-2]["type"] == "files_changed" and frames[-2]["files"] == []
    changes = (await tenant.http.get(f"/api/jobs/{job_id}/changes")).json()
    assert changes.get("files") == [] and changes["commit"] == frames[-2]["commit"], changes


async def test_upload_and_revert_wait_for_a_running_turn(tenant: Tenant, redis: Redis) -> None:
    pid = await tenant.project()
    first_id, _ = await tenant.turn(pid, "Explain #sim:text", redis, context="analysis")
    slow = await tenant.submit(pid, "Stream slowly #sim:slow", context="analysis")
    deadline = time.monotonic() + 60
    while (await tenant.http.get(f"/api/jobs/{slow['job_id']}")).json()["state"] != "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
    busy = await tenant.upload(pid, "x.txt", b"x")
    assert busy.status_code == 409 and busy.json()["code"] == "conflict"
    assert (await tenant.http.post(f"/api/jobs/{first_id}/revert")).status_code == 409
    not_ended = await tenant.http.get(f"/api/jobs/{slow['job_id']}/changes")
    assert not_ended.status_code == 409
    await tenant.http.delete(f"/api/jobs/{slow['job_id']}")
    await frames_until_terminal(redis, slow["job_id"], timeout=TURN_TIMEOUT_S)


# ---------------------------------------------------------------- queue positions


async def test_job_queued_position_is_refreshed_while_waiting(tenant: Tenant,
                                                               redis: Redis) -> None:
    pid = await tenant.project()
    first = await tenant.submit(pid, "one #sim:text", context="analysis")
    second = await tenant.submit(pid, "two #sim:text", context="analysis",
                                 session_id=first["session_id"])
    third = await tenant.submit(pid, "three #sim:text", context="analysis",
                                session_id=first["session_id"])
    frames = await frames_until_terminal(redis, third["job_id"], timeout=TURN_TIMEOUT_S)
    positions = [f["position"] for f in frames if f["type"] == "job_queued"]
    assert positions == [2, 1, 0], positions
    second_frames = await frames_until_terminal(redis, second["job_id"])
    assert [f["position"] for f in second_frames if f["type"] == "job_queued"] == [1, 0]
    first_frames = await frames_until_terminal(redis, first["job_id"])
    assert [f["position"] for f in first_frames if f["type"] == "job_queued"] == [0]


# ---------------------------------------------------------------- webhooks


class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers 500 to the first POST, then 200."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()},
                                          body))
                self.send_response(500 if len(receiver.requests) == 1 else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/wx"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


async def test_webhook_signed_retried_and_logged(tenant: Tenant, stranger: Tenant,
                                                 receiver: Receiver, redis: Redis) -> None:
    created = await tenant.http.post("/api/webhooks", json={
        "url": receiver.url, "events": ["job.succeeded", "job.failed"]})
    assert created.status_code == 201, created.text
    hook = created.json()
    assert hook["secret"].startswith("whsec_")
    listed = (await tenant.http.get("/api/webhooks")).json()
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

    pid = await tenant.project()
    job_id, _ = await tenant.turn(pid, "Explain #sim:text", redis, context="analysis")
    deadline = time.monotonic() + 30
    while len(receiver.requests) < 2:
        assert time.monotonic() < deadline, receiver.requests
        await asyncio.sleep(0.1)
    (first_headers, first_body), (headers, body) = receiver.requests[:2]
    assert first_body == body, "a retry sends the same signed body"
    expected = "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-wx-signature"] == expected == first_headers["x-wx-signature"]
    assert headers["x-wx-event"] == "job.succeeded"
    payload = orjson.loads(body)
    assert payload["event"] == "job.succeeded" and payload["job"]["id"] == job_id
    assert payload["job"]["state"] == "succeeded" and payload["job"]["usage"]["total_cost_usd"] > 0

    deliveries: list[dict[str, Any]] = []
    while not deliveries or deliveries[0]["state"] != "delivered":
        assert time.monotonic() < deadline, deliveries
        deliveries = (await tenant.http.get(f"/api/webhooks/{hook['id']}/deliveries")).json()
        await asyncio.sleep(0.1)
    assert [a["status_code"] for a in deliveries[0]["attempts"]] == [500, 200]
    assert deliveries[0]["job_id"] == job_id and deliveries[0]["event"] == "job.succeeded"

    for method, url in (("GET", f"/api/webhooks/{hook['id']}/deliveries"),
                        ("DELETE", f"/api/webhooks/{hook['id']}")):
        assert (await stranger.http.request(method, url)).status_code == 404
    assert (await stranger.http.get("/api/webhooks")).json() == []
    refused = await tenant.http.post("/api/webhooks", json={"url": "ftp://x", "events": []})
    assert refused.status_code == 400
    assert (await tenant.http.delete(f"/api/webhooks/{hook['id']}")).status_code == 204


# ---------------------------------------------------------------- tenants


async def test_another_tenant_gets_404_everywhere(tenant: Tenant, stranger: Tenant,
                                                  redis: Redis) -> None:
    pid = await tenant.project()
    assert (await tenant.upload(pid, "erp.zip", _zip(_project_files()))).status_code == 201
    job_id, _ = await tenant.turn(pid, "Explain #sim:text", redis, context="analysis")
    calls = [("GET", f"/api/projects/{pid}/files"), ("GET", f"/api/projects/{pid}/files/notes.md"),
             ("GET", f"/api/projects/{pid}/archive"), ("GET", f"/api/jobs/{job_id}/changes"),
             ("POST", f"/api/jobs/{job_id}/revert")]
    for method, url in calls:
        response = await stranger.http.request(method, url)
        assert response.status_code == 404, (url, response.text)
        assert response.json()["code"] == "not_found"
    upload = await stranger.upload(pid, "x.zip", _zip({"x": b"x"}))
    assert upload.status_code == 404
    assert set(await tenant.tree(pid)) >= {"notes.md"}  # nothing of the stranger's written
    assert "x" not in await tenant.tree(pid)
