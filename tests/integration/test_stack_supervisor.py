"""`wxrunner stack up`'s supervisor: a service that stops is started again, the others go on."""

from __future__ import annotations

import time
from pathlib import Path

from app.cli.stack import _Stack
from tests.helpers import wait_until


def test_a_stopped_service_is_started_again_and_the_others_go_on(tmp_path: Path) -> None:
    stack = _Stack(tmp_path)
    marker = tmp_path / "starts"
    marker.touch()
    stack.start("flaky", ["sh", "-c", f"echo x >> {marker}; exit 3"], {"PATH": "/usr/bin:/bin"})
    stack.start("steady", ["sleep", "60"], {"PATH": "/usr/bin:/bin"})
    steady = stack.services[1].proc
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and marker.read_text().count("x") < 3:
            stack.supervise()
            time.sleep(0.1)
        assert marker.read_text().count("x") >= 3, "the stopped service was not restarted"
        assert stack.services[0].restarts >= 2
        assert steady.poll() is None and stack.services[1].proc is steady
    finally:
        stack.stop()
    wait_until(lambda: steady.poll() is not None, timeout=5, what="steady stopped")
