"""Fixtures of the fault suite: its own world (tests/faults/world.py), the number of trials
per case (`--fault-trials`, 3 by default), and the report: a table at the end of the run
and `test-artifacts/faults.json`."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from app.service_secrets import ServiceSecrets
from tests.faults.report import REPORT
from tests.faults.world import STANDIN, Dockerd, World, mongo_server, redis_server
from tests.helpers import REPO_ROOT

_COLUMNS = ("trials", "passed", "frames_lost", "frames_duplicated", "usage_rows_lost",
            "usage_double_counted", "final_states")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "trial" in metafunc.fixturenames:
        trials = int(metafunc.config.getoption("fault_trials"))
        metafunc.parametrize("trial", range(1, trials + 1), ids=lambda n: f"trial{n}")


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path,
          sim_url: str, egress_dir: Path) -> Iterator[World]:
    """Redis and SecantusDB of the suite's own, and the settings of its processes."""
    root = tmp_path_factory.mktemp("faults")
    logs = artifacts_dir / "logs"
    service_secrets = ServiceSecrets.generate()
    redis = redis_server(root / "redis", logs, service_secrets.redis_password)
    mongo = mongo_server(root / "mongo", logs, service_secrets)
    redis.start()
    mongo.start()
    tag = uuid.uuid4().hex[:8]
    values: dict[str, Any] = {
        "env": "test",
        "deployment": f"wxfault_{tag}",
        "redis_url": service_secrets.redis_url(f"redis://127.0.0.1:{redis.port}/0"),
        "mongo_url": service_secrets.mongo_url(f"mongodb://127.0.0.1:{mongo.port}"),
        "mongo_db": f"wxfault_{tag}",
        "data_dir": str(root / "data"),
        "egress_dir": str(egress_dir),  # the Docker cases' tenant containers' way out
        "executor": "local",
        "claude_bin": str(STANDIN),
        "anthropic_base_url": sim_url,
        "anthropic_api_key": "sk-ant-sim",
        "claude_max_retries": 0,
        "heartbeat_interval_s": 0.5,
        "heartbeat_stale_s": 4.0,
        "reaper_interval_s": 1.0,
        "host_heartbeat_s": 1.0,
        "send_grace_s": 2.0,
        "turn_idle_timeout_s": 60.0,
        "worker_host": f"faulthost{tag}",
        "limit_running_turns": 50,
    }
    the_world = World(redis, mongo, values, logs)
    yield the_world
    the_world.stop_all()
    mongo.stop()
    redis.stop()


@pytest.fixture(scope="session")
def own_dockerd(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path,
                tenant_image: str) -> Iterator[Dockerd]:
    """A dockerd of the suite's own, which the dockerd-restart case restarts."""
    dockerd = Dockerd(tmp_path_factory.mktemp("dockerd"), artifacts_dir / "logs")
    dockerd.start(timeout=90)
    dockerd.load_image(tenant_image)
    yield dockerd
    dockerd.stop()


@pytest.fixture(scope="session")
def tenant_image() -> str:
    """The offline tenant image (scripts/bootstrap.sh builds it)."""
    import subprocess

    from tests.helpers import VENV_BIN

    proc = subprocess.run([str(VENV_BIN / "wxrunner"), "image", "build", "--if-missing"],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        pytest.fail(f"wxrunner image build failed:\n{proc.stdout[-2000:]}\n{proc.stderr}")
    from app.settings import Settings

    return Settings().tenant_image


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not REPORT:
        return
    rows = {case: _summary(trials) for case, trials in REPORT.items()}
    out = REPO_ROOT / "test-artifacts" / "faults.json"
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(orjson.dumps({"cases": rows, "trials": REPORT},
                                 option=orjson.OPT_INDENT_2))
    widths = [max(len(c) for c in rows) + 2, *(len(c) + 2 for c in _COLUMNS[:-1]), 30]
    terminalreporter.section("faults survived")
    header = ["case", *_COLUMNS]
    terminalreporter.write_line("".join(h.ljust(w) for h, w in zip(header, widths,
                                                                    strict=True)))
    for case, row in rows.items():
        cells = [case, *(str(row[c]) for c in _COLUMNS)]
        terminalreporter.write_line("".join(c.ljust(w) for c, w in zip(cells, widths,
                                                                        strict=True)))
    terminalreporter.write_line(f"(written to {out})")


def _summary(trials: list[dict[str, Any]]) -> dict[str, Any]:
    states = Counter(f"{t['state']}/{t['terminal']}" + (f":{t['code']}" if t["code"] else "")
                     for t in trials)
    return {
        "trials": len(trials),
        "passed": sum(1 for t in trials if not t["problems"]),
        "frames_lost": sum(t["frames_lost"] + t["stream_gaps"] for t in trials),
        "frames_duplicated": sum(t["frames_duplicated"] for t in trials),
        "usage_rows_lost": sum(t["usage_rows_lost"] for t in trials),
        "usage_double_counted": sum(t["usage_double_counted"] for t in trials),
        "final_states": ", ".join(f"{n}x {s}" for s, n in states.items()),
    }
