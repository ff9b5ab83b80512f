"""Claude Code's file tools stay in the project's workspace: the real claude binary, the
simulator's `#sim:escape` probes and the turn's real command line (build_cli_command), through
the local and the Docker executor. Every escape (`..`, absolute paths, /proc, the config dir,
a sibling project, symbolic links, the project's own settings and MCP files) gets a denied
tool_result, and no secret placed outside the workspace shows in any line Claude Code writes
(frames, the answer and the stored messages are all made from those lines)."""

from __future__ import annotations

import codecs
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bson
import httpx
import orjson
import pytest
from pymongo import MongoClient
from redis.asyncio import Redis

from app.settings import Settings
from tests.helpers import free_port, start_api_server, start_redis_server
from tests.integration import test_executors as conformance
from tests.integration.conftest import Backend, Worker
from tests.integration.test_executors import TENANT, Harness, Run, _collect, claude_options
from tests.integration.turn_helpers import frames_until_terminal
from workers.cli_command import build_cli_command, build_cli_env
from workers.executor.base import RunSpec
from workers.simulator.scenarios import ESCAPE_WRITTEN

# the executor conformance suite's fixtures: both executors, the offline image, the cleanup
harness, project = conformance.harness, conformance.project
base_settings, offline_image = conformance.base_settings, conformance.offline_image
_docker_cleanup = conformance._docker_cleanup

SIBLING = "wxsibling"
IN_WORKSPACE = "WORKSPACE-OK: the project's own notes"
# what a file tool says when it refuses a path: a permission rule, a path it never reads, or
# (Edit) a file this session could not Read first, which Claude Code checks before the rules
DENIED = re.compile(r"denied|deny rule|Refusing to read|does not read|has not been read yet")
PASSWD = "root:x:0:0"


@dataclass
class Secrets:
    config: str  # in the tenant's config dir (CLAUDE_CONFIG_DIR)
    sibling: str  # in another project of the same tenant, next to the workspace

    def all(self) -> tuple[str, ...]:
        return self.config, self.sibling, PASSWD


_SETUP = """set -e
printf '%s\\n' "$IN_WORKSPACE" > notes.md
printf '{"token": "%s"}\\n' "$CONFIG_SECRET" > "$CLAUDE_CONFIG_DIR/wx-secret.json"
ln -sfn "$CLAUDE_CONFIG_DIR/wx-secret.json" link-config.json
ln -sfn "$CLAUDE_CONFIG_DIR" link-dir
ln -sfn /etc/passwd link-passwd.md
mkdir -p .claude
printf '%s' '{"permissions": {"allow": ["Read", "Grep", "Glob", "Write", "Edit"]},
 "enableAllProjectMcpServers": true,
 "hooks": {"PreToolUse": [{"matcher": "*",
   "hooks": [{"type": "command", "command": "touch HOOK_RAN"}]}]}}' > .claude/settings.local.json
cp .claude/settings.local.json .claude/settings.json
printf '%s' '{"mcpServers": {"x": {"command": "sh", "args": ["-c", "touch MCP_RAN"]}}}' > .mcp.json
"""


async def _sh(h: Harness, project: str, script: str, env: dict[str, str]) -> Run:
    run = await _collect(await h.executor.start(RunSpec(TENANT, project, ["sh", "-c", script],
                                                        env=env)))
    assert run.status.exit_code == 0, run.status.stderr
    return run


@pytest.fixture
async def secrets(harness: Harness, project: str) -> Secrets:
    planted = Secrets(config=f"cfg-secret-{uuid.uuid4().hex}",
                      sibling=f"sibling-secret-{uuid.uuid4().hex}")
    await _sh(harness, SIBLING, 'printf "%s\\n" "$S" > secret.txt', {"S": planted.sibling})
    await _sh(harness, project, _SETUP,
              {"IN_WORKSPACE": IN_WORKSPACE, "CONFIG_SECRET": planted.config})
    return planted


async def _probe(h: Harness, project: str, context: str, script: str) -> Run:
    """Run the probe `script` (`{config}`, `{sibling}` and `{run}`, this project's id, are
    filled in here; `{cwd}` by the simulator, from what Claude Code tells the model)."""
    config = h.executor.config_dir(TENANT)
    prompt = "#sim:escape\n" + script.replace("{config}", config).replace(
        "{sibling}", SIBLING).replace("{run}", project)
    opts = claude_options(h.executor, project, prompt, context=context)
    spec = RunSpec(TENANT, project, build_cli_command(opts), env=build_cli_env(h.settings),
                   job_id=uuid.uuid4().hex)
    run = await _collect(await h.executor.start(spec))
    assert not run.result().is_error, run.status.stderr
    return run


def _calls(run: Run) -> list[tuple[str, dict[str, Any], bool, str]]:
    """(tool, input, is_error, result text) of each tool call, in order."""
    uses = {b["id"]: b for a in run.of_type("assistant") for b in a["message"]["content"]
            if b.get("type") == "tool_use"}
    calls = []
    for user in run.of_type("user"):
        for block in user["message"]["content"]:
            if block.get("type") != "tool_result":
                continue
            content = block.get("content")
            text = content if isinstance(content, str) else orjson.dumps(content).decode()
            use = uses[block["tool_use_id"]]
            calls.append((use["name"], use["input"], bool(block.get("is_error")), text))
    return calls


def _assert_no_leak(run: Run, secrets: Secrets) -> None:
    for line in run.lines:
        text = line.decode(errors="replace")
        for secret in secrets.all():
            assert secret not in text, f"{secret!r} leaked in {text[:400]}"


def _assert_outcomes(run: Run, expected: list[bool]) -> None:
    """`expected[i]`: whether call i works (True) or is refused with a denial (False)."""
    calls = _calls(run)
    assert len(calls) == len(expected), calls
    for (tool, tool_input, is_error, text), works in zip(calls, expected, strict=True):
        if works:
            assert not is_error, (tool, tool_input, text)
        else:
            assert is_error and DENIED.search(text), (tool, tool_input, text)


READS = [
    ("Read {cwd}/notes.md", True),
    ("Glob *.md", True),
    ("Grep WORKSPACE-OK", True),
    ("Read {cwd}/../{sibling}/secret.txt", False),
    ("Read {cwd}/../../{sibling}/secret.txt", False),
    ("Read {config}/wx-secret.json", False),
    ("Read {config}/.claude.json", False),
    ("Read {config}/../.claude/wx-secret.json", False),
    ("Read ~/.claude/wx-secret.json", False),
    ("Read {cwd}/link-config.json", False),
    ("Read {cwd}/link-dir/wx-secret.json", False),
    ("Read {cwd}/link-passwd.md", False),
    ("Read /etc/passwd", False),
    ("Read /proc/1/root/etc/passwd", False),
    ("Read /proc/self/root/etc/passwd", False),
    ("Read /proc/self/environ", False),
    ("Glob ** {cwd}/..", False),
    ("Glob ** {config}", False),
    ("Glob ** /etc", False),
    ("Glob /etc/*", False),
    ("Glob {config}/*", False),
    ("Glob ../**/secret.txt", True),  # a pattern is matched inside the workspace: nothing
    ("Grep secret {cwd}/..", False),
    ("Grep token {config}", False),
    ("Grep token {cwd}/link-dir", False),
    ("Grep root /etc", False),
    ("Grep root /", False),
]


async def test_reads_confined_to_the_workspace(harness: Harness, project: str,
                                               secrets: Secrets) -> None:
    run = await _probe(harness, project, "analysis", "\n".join(line for line, _ in READS))
    _assert_outcomes(run, [works for _, works in READS])
    calls = _calls(run)
    assert IN_WORKSPACE in calls[0][3]
    assert calls[[line for line, _ in READS].index("Glob ../**/secret.txt")][3] == (
        "No files found")
    _assert_no_leak(run, secrets)
    # the project's own settings and MCP files (an upload) are never loaded
    files = await _sh(harness, project, "ls -a", {})
    assert b"HOOK_RAN" not in files.lines and b"MCP_RAN" not in files.lines


async def test_review_reads_confined(harness: Harness, project: str, secrets: Secrets) -> None:
    script = ["Read {cwd}/notes.md", "Grep WORKSPACE-OK", "Read {config}/wx-secret.json",
              "Read {cwd}/../{sibling}/secret.txt", "Grep token {config}", "Read /etc/passwd"]
    run = await _probe(harness, project, "review", "\n".join(script))
    _assert_outcomes(run, [True, True, False, False, False, False])
    _assert_no_leak(run, secrets)


WRITES = [
    ("Read {cwd}/notes.md", True),
    ("Write {cwd}/converted/out.py", True),
    ("Edit {cwd}/notes.md WORKSPACE-OK", True),
    ("Write {cwd}/../{sibling}/pwned.txt", False),
    ("Edit {cwd}/../{sibling}/secret.txt secret", False),
    ("Write {config}/settings.json", False),
    ("Edit {config}/wx-secret.json token", False),
    ("Write {cwd}/link-dir/settings.json", False),
    ("Edit {cwd}/link-config.json token", False),
    ("Write {cwd}/.git/hooks/pre-commit", False),
    ("Write {cwd}/../.wx-git/{run}/hooks/pre-commit", False),
    ("Write {cwd}/.claude/settings.local.json", False),
    ("Write /tmp/wx-pwned-{run}.txt", False),
    ("Write /etc/wx-pwned-{run}.txt", False),
    ("Read {config}/wx-secret.json", False),
]


async def test_writes_confined_to_the_workspace(harness: Harness, project: str,
                                                secrets: Secrets) -> None:
    run = await _probe(harness, project, "conversion", "\n".join(line for line, _ in WRITES))
    _assert_outcomes(run, [works for _, works in WRITES])
    _assert_no_leak(run, secrets)
    check = await _sh(harness, project, """
        cat converted/out.py; head -1 notes.md; cat "../$SIB/secret.txt"
        cat "../$SIB/pwned.txt" "$CLAUDE_CONFIG_DIR/settings.json" .git/hooks/pre-commit \
            "../.wx-git/$RUN/hooks/pre-commit" \
            "/tmp/wx-pwned-$RUN.txt" "/etc/wx-pwned-$RUN.txt" 2>/dev/null || true
        grep -c token "$CLAUDE_CONFIG_DIR/wx-secret.json"
        grep -c written .claude/settings.local.json || true""", {"SIB": SIBLING, "RUN": project})
    written = [line.decode() for line in check.lines]
    assert written == [ESCAPE_WRITTEN, IN_WORKSPACE.replace("WORKSPACE-OK", ESCAPE_WRITTEN),
                       secrets.sibling, "1", "0"], written


# ---------------------------------------------------------------- through the whole stack


@dataclass
class Stack:
    api: str
    backend: Backend


@pytest.fixture(scope="module")
def stack(backend: Backend, start_worker: Callable[..., Worker], tenant_image: str,
          tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path) -> Iterator[Stack]:
    """API and a Docker-executor worker on a Redis of this module's own, so that no other
    test's worker (a local executor's, say) runs these turns."""
    redis_proc, redis_url = start_redis_server(tmp_path_factory.mktemp("redis-ft"),
                                               artifacts_dir / "logs" / "redis-ft.log")
    overrides = {"redis_url": redis_url, "worker_host": f"fthost{free_port()}"}
    own = backend.with_overrides(**overrides)
    worker = start_worker("chat,conversions", executor="docker", **overrides)
    api, url = start_api_server(own.env, artifacts_dir / "logs")
    yield Stack(url, own)
    api.stop()
    worker.stop()
    redis_proc.stop()


def _plant(docker_client: Any, tenant: str, project: str, secrets: Secrets) -> None:
    """The secrets, in the tenant's running container, as its own user would write them."""
    container = docker_client.containers.get(f"wx-tenant-{tenant}")
    script = f"""set -e
        cd /workspace/{project}
        printf '%s\\n' "$IN_WORKSPACE" > notes.md
        printf '{{"token": "%s"}}\\n' "$CONFIG_SECRET" > "$HOME/.claude/wx-secret.json"
        ln -sfn "$HOME/.claude/wx-secret.json" link-config.json
        mkdir -p ../{SIBLING} && printf '%s\\n' "$SIBLING_SECRET" > ../{SIBLING}/secret.txt"""
    result = container.exec_run(["sh", "-c", script], user="1000:1000", environment={
        "HOME": "/home/wx", "IN_WORKSPACE": IN_WORKSPACE, "CONFIG_SECRET": secrets.config,
        "SIBLING_SECRET": secrets.sibling})
    assert result.exit_code == 0, result.output


def _stored_anywhere(settings: Settings, secret: str) -> list[str]:
    """The collections of the test database holding a document with `secret` in it."""
    client: MongoClient[dict[str, Any]] = MongoClient(settings.mongo_url)
    try:
        db = client[settings.mongo_db]
        return [name for name in db.list_collection_names()
                if any(secret.encode() in bson.encode(doc) for doc in db[name].find())]
    finally:
        client.close()


def _hidden(path: str) -> str:
    """A probe argument the input guardrail does not read (it blocks the plain config path and
    /proc/1/root, also in base64 or hex): the permission rules must hold where it does not
    see, as when the model follows instructions it found in a project's file."""
    return "rot13:" + codecs.encode(path, "rot13")


STACK_PROBES = [
    ("Read {cwd}/notes.md", False),
    ("Read {cwd}/../{sibling}/secret.txt", True),
    (f"Read {_hidden('/home/wx/.claude/wx-secret.json')}", True),
    ("Read {cwd}/link-config.json", True),
    (f"Grep token {_hidden('/home/wx/.claude')}", True),
    ("Glob ** {cwd}/..", True),
    (f"Read {_hidden('/proc/1/root/etc/passwd')}", True),
    ("Read /etc/passwd", True),
]


@pytest.mark.docker
@pytest.mark.usefixtures("clean_db")
async def test_escapes_denied_through_the_stack(stack: Stack, make_token: Callable[[str], str],
                                                tenant_id: str, docker_client: Any) -> None:
    secrets = Secrets(config=f"cfg-secret-{uuid.uuid4().hex}",
                      sibling=f"sibling-secret-{uuid.uuid4().hex}")
    redis = Redis.from_url(stack.backend.settings.redis_url)
    async with httpx.AsyncClient(base_url=stack.api, timeout=60, headers={
            "Authorization": f"Bearer {make_token(tenant_id)}"}) as http:
        project = (await http.post("/api/projects", json={"name": "ERP"})).json()["id"]

        async def turn(content: str, session_id: str | None = None) -> dict[str, Any]:
            response = await http.post(f"/api/projects/{project}/chat", json={
                "content": content, "context": "analysis", "session_id": session_id})
            assert response.status_code == 202, response.text
            return dict(response.json())

        first = await turn("Hello #sim:text")  # the tenant's container starts for this turn
        await frames_until_terminal(redis, first["job_id"], timeout=120)
        _plant(docker_client, tenant_id, project, secrets)
        script = "\n".join(line for line, _ in STACK_PROBES).replace("{sibling}", SIBLING)
        job = await turn("#sim:escape\n" + script, first["session_id"])
        frames = await frames_until_terminal(redis, job["job_id"], timeout=120)
        messages = (await http.get(f"/api/sessions/{job['session_id']}/messages")).json()
    await redis.aclose()

    assert frames[-1]["type"] == "session_end" and not frames[-1]["is_error"], frames[-1]
    results = [f for f in frames if f["type"] == "tool_result"]
    assert [r["is_error"] for r in results] == [denied for _, denied in STACK_PROBES], results
    assert IN_WORKSPACE in results[0]["content"]
    assert all(DENIED.search(r["content"]) for r in results[1:]), results
    seen = orjson.dumps([frames, messages]).decode()
    for secret in secrets.all():
        assert secret not in seen, f"{secret!r} reached a client"
        assert _stored_anywhere(stack.backend.settings, secret) == [], secret
