"""Session fixtures for the real parts: Redis, SecantusDB, dockerd, the Anthropic API
simulator. Each starts on a free port and is stopped by pid on teardown."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.cli.stack_data import provision_mongo_user, secantus_argv
from app.service_secrets import ServiceSecrets
from tests.helpers import (
    REPO_ROOT,
    VENV_BIN,
    OwnedProcess,
    free_port,
    port_open,
    start_egress_proxy,
    start_redis_server,
    wait_until,
)

# The stack's fixtures (workers, API, tokens, cleanup), defined once for every suite: two
# definitions would start two stacks whose workers take each other's turns off one queue.
pytest_plugins = ["tests.stack"]

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fault-trials", dest="fault_trials", default=3, type=int,
                     help="trials of each case of the fault suite (tests/faults)")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = REPO_ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def claude_bin() -> Path:
    path = REPO_ROOT / "node_modules" / ".bin" / "claude"
    if not path.exists():
        pytest.fail("node_modules/.bin/claude is missing: run scripts/bootstrap.sh")
    return path


@pytest.fixture(scope="session")
def sim_url(artifacts_dir: Path) -> Iterator[str]:
    """The project's Anthropic Messages API simulator, as a real HTTP server."""
    port = free_port()
    proc = OwnedProcess(
        [str(VENV_BIN / "wxrunner"), "sim", "--port", str(port)],
        log=artifacts_dir / "logs" / "simulator.log",
    )
    wait_until(lambda: port_open(port), what="simulator")
    yield f"http://127.0.0.1:{port}"
    proc.stop()


@pytest.fixture(scope="session")
def egress_dir(
    sim_url: str, tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[Path]:
    """The folder of the egress proxy's socket: `wxrunner egress`, allowing only the
    simulator, the one way out of the tests' tenant containers (network none)."""
    path = tmp_path_factory.mktemp("egress")
    proc = start_egress_proxy(path, sim_url, artifacts_dir / "logs" / "egress.log")
    yield path
    proc.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[str]:
    """A redis-server of the tests' own, so tests never touch the machine's Redis."""
    proc, url = start_redis_server(
        tmp_path_factory.mktemp("redis"), artifacts_dir / "logs" / "redis.log"
    )
    yield url
    proc.stop()


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[str]:
    """SecantusDB, a real MongoDB wire-protocol server, on a free port, with authentication
    on (its user made the way `wxrunner stack up` makes it); the URL carries the user."""
    port = free_port()
    storage = tmp_path_factory.mktemp("secantus")
    secrets = ServiceSecrets.generate()
    log = artifacts_dir / "logs" / "secantusdb.log"
    provision_mongo_user(VENV_BIN / "secantusd-py", storage, secrets, log)
    proc = OwnedProcess(secantus_argv(VENV_BIN / "secantusd-py", port=port, storage=storage),
                        log=log)
    wait_until(lambda: port_open(port), timeout=30, what="secantusdb")
    yield secrets.mongo_url(f"mongodb://127.0.0.1:{port}")
    proc.stop()


@pytest.fixture(scope="session")
def docker_client():  # type: ignore[no-untyped-def]
    """The real Docker engine. scripts/test.sh starts dockerd, so this never skips."""
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # pragma: no cover - environment failure
        pytest.fail(f"no Docker engine reachable ({exc}); scripts/test.sh starts dockerd")
    yield client
    client.close()
