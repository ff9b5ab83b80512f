"""The web items of issue 12, probed as an attacker would: against the real API process
(uvicorn, Redis, SecantusDB) and the built UI (`next start`), with Debian's chromium for
the page's Content Security Policy."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import orjson
import pytest
import websockets

from app.auth import verify_token
from app.keys import signin_code_key
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, frontend_build  # noqa: F401
from tests.helpers import REPO_ROOT, free_port, signin_code, start_listening
from tests.stack import Backend

pytestmark = pytest.mark.usefixtures("clean_db")

EVIL = "http://evil.example"


@pytest.fixture(scope="module")
def ui(frontend_build: None, api_server: str, artifacts_dir: Path) -> Iterator[str]:  # noqa: F811
    """The built UI proxying to the session's API (no WX_PUBLIC_WS_URL: the socket is this
    host at the API's port)."""
    port = free_port()
    proc = start_listening(
        [str(REPO_ROOT / "frontend" / "node_modules" / ".bin" / "next"), "start",
         "-p", str(port), "-H", "127.0.0.1"],
        port=port, what="frontend", cwd=REPO_ROOT / "frontend",
        env={"WX_API_URL": api_server, "NEXT_TELEMETRY_DISABLED": "1"},
        log=artifacts_dir / "logs" / f"frontend-web-{port}.log",
    )
    yield f"http://127.0.0.1:{port}"
    proc.stop()


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _project(api: str, token: str, name: str = "erp") -> str:
    response = httpx.post(f"{api}/api/projects", json={"name": name}, headers=_auth(token))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


# --- sign-in: POST with JSON from the UI's own Origin; the link carries a one-time code


def test_a_token_in_the_url_sets_no_cookie(ui: str, make_token: Callable[[str], str],
                                           tenant_id: str) -> None:
    for path in ("/", "/login", "/projects/x", "/signin"):
        response = httpx.get(f"{ui}{path}?token={make_token(tenant_id)}", follow_redirects=False)
        assert response.status_code in (302, 307), (path, response.status_code)
        assert "set-cookie" not in response.headers, path
        assert urlparse(response.headers["location"]).path == "/login"
        assert "token" not in response.headers["location"]


@pytest.mark.parametrize(("headers", "body"), [
    ({"content-type": "text/plain", "origin": "{ui}"}, '{{"token": "{token}"}}'),
    ({"content-type": "application/x-www-form-urlencoded", "origin": "{ui}"}, "token={token}"),
    ({"content-type": "multipart/form-data; boundary=x", "origin": "{ui}"},
     '--x\r\nContent-Disposition: form-data; name="token"\r\n\r\n{token}\r\n--x--\r\n'),
    ({"content-type": "application/json", "origin": EVIL}, '{{"token": "{token}"}}'),
    ({"content-type": "application/json", "origin": "null"}, '{{"token": "{token}"}}'),
    ({"content-type": "application/json"}, '{{"token": "{token}"}}'),
    ({"content-type": "text/plain", "origin": EVIL}, '{{"token": "{token}"}}'),
], ids=["text-plain", "form", "multipart", "other-origin", "null-origin", "no-origin",
        "text-plain-other-origin"])
def test_sign_in_from_another_site_or_not_json_is_refused(
    ui: str, make_token: Callable[[str], str], tenant_id: str, headers: dict[str, str], body: str
) -> None:
    sent = {k: v.format(ui=ui) for k, v in headers.items()}
    response = httpx.post(f"{ui}/api/session/login", headers=sent,
                          content=body.format(token=make_token(tenant_id)))
    assert response.status_code == 403, response.text
    assert "set-cookie" not in response.headers


def test_sign_in_with_a_token_from_the_ui_itself(ui: str, make_token: Callable[[str], str],
                                                 tenant_id: str) -> None:
    origin = {"origin": ui}
    bad = httpx.post(f"{ui}/api/session/login", json={"token": "x.y.z"}, headers=origin)
    assert bad.status_code == 401 and "set-cookie" not in bad.headers
    good = httpx.post(f"{ui}/api/session/login", json={"token": make_token(tenant_id)},
                      headers=origin)
    assert good.status_code == 200, good.text
    cookie = good.headers["set-cookie"].lower()
    assert "wx_token=" in cookie and "httponly" in cookie and "samesite=lax" in cookie


def test_the_run_commands_link_signs_in_once(
    ui: str, backend: Backend, tenant_id: str, backend_redis: Any
) -> None:
    code = signin_code(backend.env, tenant_id)
    response = httpx.post(f"{ui}/api/session/login", json={"code": code}, headers={"origin": ui})
    assert response.status_code == 200, response.text
    cookie = response.cookies.get("wx_token")
    assert cookie and verify_token(backend.settings, cookie).tenant_id == tenant_id
    again = httpx.post(f"{ui}/api/session/login", json={"code": code}, headers={"origin": ui})
    assert again.status_code == 401 and "set-cookie" not in again.headers
    assert "used or expired" in again.json()["message"]
    forged = httpx.post(f"{ui}/api/session/login", json={"code": "A" * 43}, headers={"origin": ui})
    assert forged.status_code == 401
    huge = httpx.post(f"{ui}/api/session/login", json={"code": "A" * 100_000},
                      headers={"origin": ui})
    assert huge.status_code == 413


async def test_a_sign_in_code_is_short_lived_and_not_a_token(
    api_server: str, backend: Backend, tenant_id: str, backend_redis: Any
) -> None:
    code = signin_code(backend.env, tenant_id)
    ttl = await backend_redis.ttl(signin_code_key(code))
    assert 0 < ttl <= backend.settings.signin_code_ttl_s <= 300
    # the code is no bearer token, and the API redeems only a JSON body
    assert httpx.get(f"{api_server}/api/projects", headers=_auth(code)).status_code == 401
    plain = httpx.post(f"{api_server}/api/signin/redeem", content=orjson.dumps({"code": code}),
                       headers={"content-type": "text/plain"})
    assert plain.status_code == 400, plain.text
    redeemed = httpx.post(f"{api_server}/api/signin/redeem", json={"code": code})
    assert redeemed.status_code == 200
    assert verify_token(backend.settings, redeemed.json()["token"]).tenant_id == tenant_id
    assert await backend_redis.exists(signin_code_key(code)) == 0


def test_the_api_proxy_refuses_writes_from_another_site(
    ui: str, make_token: Callable[[str], str], tenant_id: str, api_server: str
) -> None:
    cookies = {"wx_token": make_token(tenant_id)}
    for origin in (EVIL, None):
        headers = {"origin": origin} if origin else {}
        with httpx.Client(cookies=cookies) as client:
            refused = client.post(f"{ui}/api/projects", json={"name": "csrf"}, headers=headers)
            logout = client.post(f"{ui}/api/session/logout", headers=headers)
        assert refused.status_code == 403, refused.text
        assert logout.status_code == 403 and "set-cookie" not in logout.headers
    listed = httpx.get(f"{api_server}/api/projects", headers=_auth(make_token(tenant_id)))
    assert listed.json() == []
    with httpx.Client(cookies=cookies) as client:
        made = client.post(f"{ui}/api/projects", json={"name": "mine"}, headers={"origin": ui})
        assert made.status_code == 201, made.text
        assert client.get(f"{ui}/api/projects").status_code == 200  # reads need no Origin


# --- the UI's headers: CSP with a nonce, no framing, no caching of pages


def _page(ui: str, path: str, token: str) -> httpx.Response:
    response = httpx.get(f"{ui}{path}", cookies={"wx_token": token}, follow_redirects=False)
    assert response.status_code == 200, (path, response.status_code)
    return response


@pytest.mark.parametrize("path", ["/", "/login", "/signin", "/projects/abc",
                                  "/projects/abc/usage"])
def test_pages_have_a_nonce_csp_and_are_not_cached(
    ui: str, api_server: str, make_token: Callable[[str], str], tenant_id: str, path: str
) -> None:
    first = _page(ui, path, make_token(tenant_id))
    policy = first.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([A-Za-z0-9+/=]+)'", policy)
    assert nonce, policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    api_port = urlparse(api_server).port
    assert f"ws://127.0.0.1:{api_port}" in policy.split("connect-src", 1)[1].split(";", 1)[0]
    scripts = re.findall(r"<script\b[^>]*>", first.text)
    assert scripts and all(f'nonce="{nonce.group(1)}"' in tag for tag in scripts), scripts[:3]
    assert first.headers["x-frame-options"] == "DENY"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["referrer-policy"] == "no-referrer"
    cache = first.headers["cache-control"]
    assert "no-store" in cache and "s-maxage" not in cache and "public" not in cache, cache
    second = _page(ui, path, make_token(tenant_id))
    assert second.headers["content-security-policy"] != policy  # a fresh nonce each time


def test_api_answers_are_not_sniffed_or_cached(api_server: str, make_token: Callable[[str], str],
                                               tenant_id: str) -> None:
    headers = _auth(make_token(tenant_id))
    for response in (httpx.get(f"{api_server}/api/projects", headers=headers),
                     httpx.get(f"{api_server}/api/projects/nope", headers=headers),
                     httpx.get(f"{api_server}/api/projects")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == "frame-ancestors 'none'"


async def test_the_page_runs_under_its_csp_and_opens_the_chat_socket(
    ui: str, api_server: str, backend: Backend, make_token: Callable[[str], str], tenant_id: str
) -> None:
    # the async API: the sync one would hold this pytest process's event loop
    from playwright.async_api import async_playwright

    project = _project(api_server, make_token(tenant_id), name="csp check")
    violations: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                           args=CHROMIUM_ARGS)
        page = await browser.new_page()
        page.set_default_timeout(20_000)
        page.on("console", lambda m: violations.append(m.text)
                if "Content Security Policy" in m.text or "Refused to" in m.text else None)
        await page.goto(f"{ui}/signin?code={signin_code(backend.env, tenant_id)}")
        await page.wait_for_url(f"{ui}/")
        await page.get_by_text("csp check").first.wait_for()  # scripts ran: the list came
        async with page.expect_websocket(lambda ws: f"/ws/chat/{project}" in ws.url):
            await page.goto(f"{ui}/projects/{project}")
        await page.locator('[data-testid="connection"][data-state="open"]').wait_for()
        assert violations == []  # the app's scripts, styles and socket all pass the policy
        framed = await page.evaluate(f"""async () => {{
            const frame = document.createElement("iframe");
            frame.src = "{ui}/";
            document.body.appendChild(frame);
            await new Promise(r => setTimeout(r, 1500));
            try {{ return frame.contentDocument?.body?.innerText ?? ""; }}
            catch (e) {{ return "blocked"; }}
        }}""")
        await browser.close()
    assert "csp check" not in framed  # frame-ancestors 'none': the UI never renders in a frame
    assert any("frame-ancestors 'none'" in v for v in violations), violations


# --- /metrics


def test_metrics_need_the_scrapers_token_and_prod_without_one_has_none(
    api_server: str, backend: Backend
) -> None:
    assert backend.settings.metrics_token is not None
    token = backend.settings.metrics_token.get_secret_value()
    assert httpx.get(f"{api_server}/metrics").status_code == 401
    assert httpx.get(f"{api_server}/metrics", headers=_auth(token)).status_code == 200


async def test_metrics_in_prod_without_a_token_are_not_served(backend: Backend) -> None:
    from app.main import create_app

    prod = backend.settings.model_copy(update={"env": "prod", "metrics_token": None})
    transport = httpx.ASGITransport(app=create_app(prod))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
        response = await client.get("/metrics")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- request bodies: bounded before they are read whole


def _raw_request(port: int, head: str, chunks: list[bytes] | None = None) -> tuple[bytes, float]:
    """Send a request head (and chunks, until the server stops reading); its answer and
    how long it took."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in chunks or []:
                sock.sendall(chunk)
        except OSError:
            pass  # the server answered and closed while we were still sending
        answer = b""
        try:
            while b"\r\n\r\n" not in answer:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    return answer, time.monotonic() - started


def _project_post(api_server: str, token: str, length_header: str) -> tuple[int, str]:
    """The API's port, and the head of a JSON POST /api/projects whose body is framed by
    `length_header`."""
    port = urlparse(api_server).port
    assert port
    return port, (f"POST /api/projects HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Authorization: Bearer {token}\r\n"
                  f"Content-Type: application/json\r\n{length_header}\r\n\r\n")


def test_a_declared_large_body_is_refused_before_it_is_sent(
    api_server: str, make_token: Callable[[str], str], tenant_id: str, backend: Backend
) -> None:
    port, head = _project_post(api_server, make_token(tenant_id),
                               f"Content-Length: {50 * 1024 * 1024}")
    answer, took = _raw_request(port, head)  # not one byte of the body is sent
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert took < 5


def test_a_streamed_large_body_is_refused_once_it_passes_the_limit(
    api_server: str, make_token: Callable[[str], str], tenant_id: str, backend: Backend
) -> None:
    port, head = _project_post(api_server, make_token(tenant_id), "Transfer-Encoding: chunked")
    piece = b"x" * 65536
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    answer, _ = _raw_request(port, head, [chunk] * 64)  # 4 MB, never terminated
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    listed = httpx.get(f"{api_server}/api/projects", headers=_auth(make_token(tenant_id)))
    assert listed.json() == []


def test_bodies_under_the_limit_and_uploads_pass(
    api_server: str, make_token: Callable[[str], str], tenant_id: str, backend: Backend
) -> None:
    token = make_token(tenant_id)
    limit = backend.settings.request_max_bytes
    near = httpx.post(f"{api_server}/api/projects", headers=_auth(token),
                      json={"name": "n" * (limit - 100)})
    assert near.status_code == 400 and near.json()["message"] == "Invalid request"  # validated
    over = httpx.post(f"{api_server}/api/projects", headers=_auth(token),
                      json={"name": "n" * limit})
    assert over.status_code == 413 and over.json()["details"]["max_bytes"] == limit
    # the upload route has its own bound: a body over the JSON limit reaches it
    upload = httpx.post(f"{api_server}/api/projects/000000000000000000000000/files",
                        headers=_auth(token), files={"file": ("big.bin", b"z" * (2 * limit))})
    assert upload.status_code == 404, upload.text


# --- after_seq: bounded in REST, SSE Last-Event-ID and the socket's resume frame

BAD_SEQS = ["-1", str(2**53), str(2**63), str(2**64 + 5), "1" + "0" * 30, "9" * 5000, "abc",
            "1.5", "", "0x10", "\uff11"]  # the last: a fullwidth digit one


def _queued_job(api_server: str, token: str) -> tuple[str, str]:
    project = _project(api_server, token)
    chat = httpx.post(f"{api_server}/api/projects/{project}/chat", headers=_auth(token),
                      json={"content": "hello"})
    assert chat.status_code == 202, chat.text
    return project, str(chat.json()["job_id"])


def test_after_seq_out_of_range_is_a_clear_400(
    api_server: str, make_token: Callable[[str], str], tenant_id: str
) -> None:
    token = make_token(tenant_id)
    _, job = _queued_job(api_server, token)
    for value in BAD_SEQS:
        response = httpx.get(f"{api_server}/api/jobs/{job}/events",
                             params={"after_seq": value}, headers=_auth(token), timeout=10)
        assert response.status_code == 400, (value[:20], response.status_code, response.text)
        assert response.json()["code"] == "bad_request"
    for value in [v for v in BAD_SEQS if v.isascii() and v.strip() == v and v]:
        response = httpx.get(f"{api_server}/api/jobs/{job}/events", timeout=10,
                             headers={**_auth(token), "last-event-id": value})
        assert response.status_code == 400, (value[:20], response.status_code, response.text)
        assert "Last-Event-ID" in response.json()["message"]


async def test_a_resume_frame_out_of_range_gets_an_error_frame(
    api_server: str, make_token: Callable[[str], str], tenant_id: str
) -> None:
    token = make_token(tenant_id)
    project, job = _queued_job(api_server, token)
    url = api_server.replace("http://", "ws://") + f"/ws/chat/{project}"
    values: list[Any] = [-1, 2**53, 2**63, 2**64 + 5, 10**30, "abc", 1.5, None, [], {}]
    async with websockets.connect(url, subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        for value in values:
            seq = str(value) if isinstance(value, int) else orjson.dumps(value).decode()
            raw = f'{{"type":"resume","job_id":"{job}","after_seq":{seq}}}'
            await ws.send(raw)
            frame = orjson.loads(await ws.recv())
            assert frame["type"] == "error" and frame["code"] == "bad_request", (value, frame)
        await ws.send(orjson.dumps({"type": "ping"}))
        assert orjson.loads(await ws.recv())["type"] == "pong"  # the socket stayed open


# --- no token in any log


async def test_no_token_reaches_the_apis_log(
    api_server: str, artifacts_dir: Path, make_token: Callable[[str], str], tenant_id: str
) -> None:
    token = make_token(tenant_id)
    project = _project(api_server, token)
    httpx.get(f"{api_server}/api/projects", params={"token": token, "access_token": token},
              headers={**_auth(token), "cookie": f"wx_token={token}"})
    httpx.get(f"{api_server}/api/projects/{project}", params={"jwt": token})
    url = api_server.replace("http://", "ws://") + f"/ws/chat/{project}?token={token}"
    async with websockets.connect(url, subprotocols=["bearer", token]) as ws:  # type: ignore[list-item]
        await ws.send(orjson.dumps({"type": "ping"}))
        await ws.recv()
    log = artifacts_dir / "logs" / f"api-{urlparse(api_server).port}.log"
    deadline = time.monotonic() + 5
    while "WebSocket" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    text = log.read_text()
    assert "token=[redacted]" in text and "jwt=[redacted]" in text
    assert token not in text
    assert token.split(".")[2] not in text  # not even the signature


# --- the run command's banner


def test_the_run_commands_banner_links_a_code_not_a_token(
    backend: Backend, api_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli.stack import _print_banner

    _print_banner(backend.settings, {"WX_EXECUTOR": "docker",
                                     "WX_REDIS_URL": backend.settings.redis_url})
    printed = capsys.readouterr().out
    link = next(line.split()[1] for line in printed.splitlines() if line.strip().startswith("UI"))
    assert "/signin?code=" in link and "token=" not in link
    code = link.split("code=", 1)[1]
    redeemed = httpx.post(f"{api_server}/api/signin/redeem", json={"code": code})
    assert redeemed.status_code == 200
    assert verify_token(backend.settings, redeemed.json()["token"]).tenant_id == "dev"
