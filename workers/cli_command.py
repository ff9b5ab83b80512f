"""The claude command line and environment for one chat turn (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import orjson

from app.errors import BadRequest
from app.settings import Settings
from app.vocab import Context
from workers.file_rules import file_permissions

__all__ = [
    "CONTEXT_TOOLS",
    "ClaudeCommandOptions",
    "build_cli_command",
    "build_cli_env",
    "context_tools",
    "turn_settings",
]

# context -> (tools made available with --tools, the allow rules besides the file rules of
# workers/file_rules.py, which confine the file tools to the project's workspace)
CONTEXT_TOOLS: Final[dict[Context, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    Context.ANALYSIS: (("Read", "Grep", "Glob"), ()),
    Context.CONVERSION: (("Read", "Write", "Edit", "Bash"), ("Bash(npm:*)",)),
    Context.REVIEW: (("Read", "Grep"), ()),
}


@dataclass(frozen=True)
class ClaudeCommandOptions:
    """What varies between turns; `claude_bin`, `workdir` (the project's workspace) and
    `config_dir` are paths as the executor's command sees them."""

    prompt: str
    workdir: str
    config_dir: str
    context: Context = Context.ANALYSIS
    resume_session_id: str | None = None
    max_budget_usd: float | None = None
    claude_bin: str = "claude"


def build_cli_command(opts: ClaudeCommandOptions) -> list[str]:
    """argv for `claude -p` in stream-json mode; data-valued options as `--opt=value`,
    the prompt last after `--` so it can never be read as an option.

    Permissions come only from `--settings` (the rules of `turn_settings`): no settings file
    is read (`--setting-sources=`), as the project's own `.claude/settings*.json` and
    `.mcp.json` are the tenant's upload and could allow any path, add hooks or MCP servers
    (code run in a context without Bash)."""
    argv = [
        opts.claude_bin,
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        f"--tools={','.join(context_tools(opts.context))}",
        f"--settings={orjson.dumps(turn_settings(opts)).decode()}",
        "--setting-sources=",
        "--strict-mcp-config",
        "--permission-mode",
        "dontAsk",
        "--disable-slash-commands",
    ]
    if opts.resume_session_id:
        argv.append(f"--resume={opts.resume_session_id}")
    if opts.max_budget_usd is not None:
        if opts.max_budget_usd < 0:
            raise BadRequest("max_budget_usd must not be negative")
        argv.append(f"--max-budget-usd={opts.max_budget_usd:.4f}")
    argv += ["--", opts.prompt]
    return argv


def context_tools(context: Context) -> tuple[str, ...]:
    """The built-in tools a context makes available."""
    if context not in CONTEXT_TOOLS:
        raise BadRequest(f"unknown context {context!r}")
    return CONTEXT_TOOLS[context][0]


def turn_settings(opts: ClaudeCommandOptions) -> dict[str, object]:
    """The only settings a turn's claude loads: its permission rules, and no hooks."""
    tools = context_tools(opts.context)
    permissions = file_permissions(workdir=opts.workdir, config_dir=opts.config_dir,
                                   tools=tools, extra_allow=CONTEXT_TOOLS[opts.context][1])
    return {"permissions": permissions, "disableAllHooks": True}


def build_cli_env(settings: Settings, *, config_dir: str | None = None) -> dict[str, str]:
    """The environment of the claude process: no secret here is ever logged.

    Credentials, in order of preference: the subscription token, the credentials
    file (not an env var: the executor copies it into the tenant's config dir), the
    API key. Only one is passed: an API key would win over OAuth inside Claude Code."""
    env = {
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_MAX_RETRIES": str(settings.claude_max_retries),
        "DISABLE_AUTOUPDATER": "1",
    }
    if settings.anthropic_base_url:
        env["ANTHROPIC_BASE_URL"] = settings.anthropic_base_url
    env.update(_credentials_env(settings))
    if config_dir:
        env["CLAUDE_CONFIG_DIR"] = config_dir
    return env


def _credentials_env(settings: Settings) -> dict[str, str]:
    if settings.claude_oauth_token is not None:
        return {"CLAUDE_CODE_OAUTH_TOKEN": settings.claude_oauth_token.get_secret_value()}
    if settings.claude_credentials_file is not None:
        return {}
    if settings.anthropic_api_key is not None:
        return {"ANTHROPIC_API_KEY": settings.anthropic_api_key.get_secret_value()}
    return {}
