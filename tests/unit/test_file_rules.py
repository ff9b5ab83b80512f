"""The permission rules that confine Claude Code's file tools, per context and executor."""

from __future__ import annotations

import pytest

from app.errors import ExecutorFailed
from app.vocab import Context
from workers.cli_command import ClaudeCommandOptions, turn_settings
from workers.file_rules import file_permissions

DOCKER = ("/workspace/p1", "/home/wx/.claude")
LOCAL = ("/srv/wx/.wx-data/workspaces/t1/p1", "/srv/wx/.wx-data/claude-config/t1")
SYSTEM = ("/proc", "/sys", "/dev", "/etc", "/root", "/home", "/run", "/var", "/usr", "/opt",
          "/tmp")


def _permissions(context: Context, paths: tuple[str, str]) -> dict[str, list[str]]:
    opts = ClaudeCommandOptions(prompt="x", workdir=paths[0], config_dir=paths[1],
                                context=context)
    settings = turn_settings(opts)
    assert set(settings) == {"permissions", "disableAllHooks"}
    return settings["permissions"]  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("context", "allow"),
    [
        (Context.ANALYSIS, ["Read(//workspace/p1/**)"]),
        (Context.REVIEW, ["Read(//workspace/p1/**)"]),
        (Context.CONVERSION, ["Read(//workspace/p1/**)", "Edit(//workspace/p1/**)",
                              "Bash(npm:*)"]),
    ],
)
def test_allow_rules_by_context(context: Context, allow: list[str]) -> None:
    permissions = _permissions(context, DOCKER)
    assert permissions["allow"] == allow
    # never a bare tool name: `Read` alone allows every path
    assert all("(" in rule for rule in permissions["allow"])


@pytest.mark.parametrize("context", list(Context))
def test_docker_deny_rules(context: Context) -> None:
    deny = _permissions(context, DOCKER)["deny"]
    assert deny[:2] == ["Read(//home/wx/.claude/**)", "Edit(//home/wx/.claude/**)"]
    for directory in SYSTEM:
        assert f"Read(/{directory}/**)" in deny and f"Edit(/{directory}/**)" in deny
    assert deny[-2:] == ["Edit(//workspace/.wx-git/**)", "Edit(//workspace/p1/.git/**)"]
    assert not any(r.startswith("Read(//workspace") for r in deny)


def test_local_paths_and_no_deny_over_the_workspace() -> None:
    workdir, config = "/tmp/pytest-1/wx/workspaces/t1/p1", "/tmp/pytest-1/wx/claude-config/t1"
    permissions = _permissions(Context.ANALYSIS, (workdir, config))
    assert permissions["allow"] == [f"Read(/{workdir}/**)"]
    assert f"Read(/{config}/**)" in permissions["deny"]
    # /tmp holds this workspace: denying it would deny the workspace too
    assert "Read(//tmp/**)" not in permissions["deny"]
    assert "Read(//proc/**)" in permissions["deny"]
    assert _permissions(Context.ANALYSIS, LOCAL)["allow"] == [f"Read(/{LOCAL[0]}/**)"]


def test_paths_are_normalised() -> None:
    permissions = file_permissions(workdir="/workspace/./p1/", config_dir="/home/wx/.claude",
                                   tools=("Read",))
    assert permissions["allow"] == ["Read(//workspace/p1/**)"]


@pytest.mark.parametrize(
    ("workdir", "config_dir"),
    [
        ("workspace/p1", "/home/wx/.claude"),  # relative
        ("/", "/home/wx/.claude"),
        ("/workspace/p*", "/home/wx/.claude"),  # a pattern, not a path
        ("/workspace/p 1", "/home/wx/.claude"),
        ("/workspace/p1", "/home/wx/[x]"),
        ("/home/wx/.claude/ws", "/home/wx/.claude"),  # the workspace inside the config dir
        ("/data", "/data/.claude"),
    ],
)
def test_paths_a_rule_cannot_hold_refused(workdir: str, config_dir: str) -> None:
    with pytest.raises(ExecutorFailed):
        file_permissions(workdir=workdir, config_dir=config_dir, tools=("Read",))
