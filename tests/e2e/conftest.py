# ruff: noqa: F811  (fixtures imported from the integration conftest are parameters here)
"""Browser end-to-end fixtures: the real stack of the integration tests (API, Celery
worker, Redis, SecantusDB, claude + simulator) plus the built frontend served by
`next start`, driven by Debian's chromium through Playwright."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import REPO_ROOT, NetworkLink, free_port, signin_code, start_listening
from tests.integration.conftest import (  # noqa: F401  (fixtures, registered by import)
    _test_tenants,
    api_server,
    backend,
    celery_worker,
    clean_db,
    make_token,
    start_worker,
    tenant_id,
    tenant_image,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="session")
def e2e_artifacts(artifacts_dir: Path) -> Path:
    path = artifacts_dir / "e2e"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def frontend_build() -> None:
    """`scripts/frontend.sh build`: npm ci and next build when stale."""
    proc = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "frontend.sh"), "build"],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"frontend build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


@pytest.fixture(scope="session")
def network(api_server: str) -> Iterator[NetworkLink]:
    """The browser's path to the API's WebSocket, which a test can cut and restore."""
    link = NetworkLink(int(api_server.rsplit(":", 1)[1]))
    yield link
    link.close()


@pytest.fixture(scope="session")
def frontend_url(
    frontend_build: None, api_server: str, celery_worker: Any, artifacts_dir: Path,
    network: NetworkLink,
) -> Iterator[str]:
    """The built frontend (`next start`) on a free port, proxying to the test API."""
    port = free_port()
    proc = start_listening(
        [str(REPO_ROOT / "frontend" / "node_modules" / ".bin" / "next"), "start",
         "-p", str(port), "-H", "127.0.0.1"],
        port=port, what="frontend",
        env={"WX_API_URL": api_server, "NEXT_TELEMETRY_DISABLED": "1",
             "WX_PUBLIC_WS_URL": f"ws://127.0.0.1:{network.port}"},
        log=artifacts_dir / "logs" / f"frontend-{port}.log",
        cwd=REPO_ROOT / "frontend",
    )
    yield f"http://127.0.0.1:{port}"
    proc.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail("/usr/bin/chromium is missing: run scripts/bootstrap.sh")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Stack:
    """A signed-in tenant: REST through the API, the browser through the frontend."""

    def __init__(self, frontend: str, api: str, token: str, shots: Path, name: str,
                 tenant: str = "", env: dict[str, str] | None = None) -> None:
        self.frontend, self.api, self.token = frontend, api, token
        self.tenant, self.env = tenant, env or {}
        self.shots, self.name = shots, name
        self.http = httpx.Client(base_url=api, headers={"authorization": f"Bearer {token}"},
                                 timeout=10)

    def project(self, name: str = "e2e project") -> str:
        response = self.http.post("/api/projects", json={"name": name})
        response.raise_for_status()
        return str(response.json()["id"])

    def shot(self, page: Any, step: str) -> None:
        page.screenshot(path=str(self.shots / f"{self.name}-{step}.png"), full_page=True)


@pytest.fixture
def stack(
    frontend_url: str, api_server: str, make_token: Callable[[str], str], tenant_id: str,
    e2e_artifacts: Path, request: pytest.FixtureRequest, clean_db: None, backend: Any,
) -> Iterator[Stack]:
    s = Stack(frontend_url, api_server, make_token(tenant_id), e2e_artifacts,
              request.node.name.removeprefix("test_"), tenant_id, backend.env)
    yield s
    s.http.close()


@pytest.fixture
def page(browser: Any, stack: Stack) -> Iterator[Any]:
    """A fresh browser context, signed in once through the run command's one-time link."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{stack.frontend}/signin?code={signin_code(stack.env, stack.tenant)}")
    page.wait_for_url(f"{stack.frontend}/")
    yield page
    context.close()
