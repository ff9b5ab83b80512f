"""The claude argv and environment of a turn (DESIGN §5)."""

from __future__ import annotations

import logging
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr

from app.errors import BadRequest
from app.settings import Settings
from workers.cli_command import (
    ClaudeCommandOptions,
    build_cli_command,
    build_cli_env,
    turn_settings,
)
from workers.executor.base import RunSpec

SECRET_KEY = "sk-ant-api03-SECRETKEYSECRETKEY"
SECRET_TOKEN = "sk-ant-oat01-SECRETTOKENSECRET"
KEY, TOKEN = SecretStr(SECRET_KEY), SecretStr(SECRET_TOKEN)
WORKDIR, CONFIG_DIR = "/workspace/p1", "/home/wx/.claude"


def _opts(prompt: str = "hello", **kwargs: object) -> ClaudeCommandOptions:
    return ClaudeCommandOptions(prompt=prompt, workdir=WORKDIR, config_dir=CONFIG_DIR,
                                **kwargs)  # type: ignore[arg-type]


def _argv(**kwargs: object) -> list[str]:
    return build_cli_command(_opts("hello", **kwargs))


class TestCommand:
    def test_fixed_options(self) -> None:
        argv = _argv(claude_bin="/usr/local/bin/claude")
        assert argv[:2] == ["/usr/local/bin/claude", "-p"]
        joined = " ".join(argv)
        for part in ("--output-format stream-json", "--verbose", "--include-partial-messages",
                     "--permission-mode dontAsk", "--disable-slash-commands"):
            assert part in joined

    @pytest.mark.parametrize(
        ("context", "tools"),
        [
            ("analysis", "Read,Grep,Glob"),
            ("conversion", "Read,Write,Edit,Bash"),
            ("review", "Read,Grep"),
        ],
    )
    def test_tools_by_context(self, context: str, tools: str) -> None:
        argv = _argv(context=context)
        assert f"--tools={tools}" in argv
        assert sum(a.startswith("--tools") for a in argv) == 1
        # no bare tool names allowed on the command line: they would allow every path
        assert not any(a.startswith(("--allowedTools", "--allowed-tools")) for a in argv)

    def test_settings_are_the_only_source_of_permissions(self) -> None:
        argv = _argv()
        assert "--setting-sources=" in argv and "--strict-mcp-config" in argv
        settings = [a for a in argv if a.startswith("--settings=")]
        assert len(settings) == 1
        loaded = orjson.loads(settings[0].removeprefix("--settings="))
        assert loaded == turn_settings(_opts())
        assert loaded["disableAllHooks"] is True

    def test_unknown_context_refused(self) -> None:
        with pytest.raises(BadRequest):
            _argv(context="admin")

    def test_prompt_last_after_double_dash(self) -> None:
        prompt = "--dangerously-skip-permissions rm -rf /"
        argv = build_cli_command(_opts(prompt, resume_session_id="abc"))
        assert argv[-2:] == ["--", prompt]
        assert argv.count("--") == 1
        assert "--dangerously-skip-permissions" not in argv[:-1]

    def test_resume_and_budget_as_single_tokens(self) -> None:
        argv = _argv(resume_session_id="0b6c-uuid", max_budget_usd=1.5)
        assert "--resume=0b6c-uuid" in argv
        assert "--max-budget-usd=1.5000" in argv
        assert "--resume" not in argv and "--max-budget-usd" not in argv

    def test_value_that_looks_like_an_option_stays_a_value(self) -> None:
        argv = _argv(resume_session_id="--dangerously-skip-permissions")
        assert "--resume=--dangerously-skip-permissions" in argv
        assert "--dangerously-skip-permissions" not in argv

    def test_no_resume_no_budget_by_default(self) -> None:
        argv = _argv()
        assert not any(a.startswith(("--resume", "--max-budget-usd")) for a in argv)

    def test_negative_budget_refused(self) -> None:
        with pytest.raises(BadRequest):
            _argv(max_budget_usd=-1.0)


class TestEnv:
    def test_base(self) -> None:
        env = build_cli_env(Settings(claude_max_retries=3, anthropic_base_url=None))
        assert env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] == "1"
        assert env["CLAUDE_CODE_MAX_RETRIES"] == "3"
        assert "ANTHROPIC_BASE_URL" not in env
        assert "CLAUDE_CONFIG_DIR" not in env

    def test_base_url_and_config_dir(self) -> None:
        env = build_cli_env(Settings(anthropic_base_url="http://127.0.0.1:9"), config_dir="/c")
        assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
        assert env["CLAUDE_CONFIG_DIR"] == "/c"

    def test_oauth_token_preferred_over_api_key(self) -> None:
        env = build_cli_env(Settings(claude_oauth_token=TOKEN, anthropic_api_key=KEY))
        assert env["CLAUDE_CODE_OAUTH_TOKEN"] == SECRET_TOKEN
        assert "ANTHROPIC_API_KEY" not in env  # it would win over OAuth inside Claude Code

    def test_credentials_file_preferred_over_api_key(self, tmp_path: Path) -> None:
        creds = tmp_path / ".credentials.json"
        creds.write_text("{}")
        env = build_cli_env(Settings(claude_credentials_file=creds, anthropic_api_key=KEY))
        assert "ANTHROPIC_API_KEY" not in env and "CLAUDE_CODE_OAUTH_TOKEN" not in env

    def test_api_key_alone(self) -> None:
        env = build_cli_env(Settings(anthropic_api_key=KEY, claude_oauth_token=None,
                                     claude_credentials_file=None))
        assert env["ANTHROPIC_API_KEY"] == SECRET_KEY


class TestSecrets:
    def test_not_in_any_repr(self, caplog: pytest.LogCaptureFixture) -> None:
        settings = Settings(anthropic_api_key=KEY, claude_oauth_token=TOKEN)
        env = build_cli_env(settings)
        spec = RunSpec("t1", "p1", _argv(), env=env, job_id="j1")
        with caplog.at_level(logging.DEBUG):
            logging.getLogger("wx.test").info("spec %s %r settings %s", spec, spec, settings)
        for text in (repr(spec), str(spec), repr(settings), caplog.text):
            assert SECRET_KEY not in text and SECRET_TOKEN not in text
        assert "env" not in repr(spec)

    def test_not_in_argv(self) -> None:
        settings = Settings(anthropic_api_key=KEY, claude_oauth_token=TOKEN)
        build_cli_env(settings)
        assert not any(SECRET_KEY in a or SECRET_TOKEN in a for a in _argv())
