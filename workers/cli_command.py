"""The claude command line and environment for one chat turn (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from app.credentials import TurnCredential
from app.errors import BadRequest
from app.settings import Settings
from app.vocab import Context

__all__ = ["CONTEXT_TOOLS", "ClaudeCommandOptions", "build_cli_command", "build_cli_env"]

# context -> (tools made available with --tools, permission rules for --allowedTools)
CONTEXT_TOOLS: Final[dict[Context, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    Context.ANALYSIS: (("Read", "Grep", "Glob"), ("Read", "Grep", "Glob")),
    Context.CONVERSION: (("Read", "Write", "Edit", "Bash"),
                         ("Read", "Write", "Edit", "Bash(npm:*)")),
    Context.REVIEW: (("Read", "Grep"), ("Read", "Grep")),
}


@dataclass(frozen=True)
class ClaudeCommandOptions:
    """What varies between turns; `claude_bin` is the path as the executor sees it."""

    prompt: str
    context: Context = Context.ANALYSIS
    resume_session_id: str | None = None
    max_budget_usd: float | None = None
    claude_bin: str = "claude"


def build_cli_command(opts: ClaudeCommandOptions) -> list[str]:
    """argv for `claude -p` in stream-json mode; data-valued options as `--opt=value`,
    the prompt last after `--` so it can never be read as an option."""
    if opts.context not in CONTEXT_TOOLS:
        raise BadRequest(f"unknown context {opts.context!r}")
    tools, rules = CONTEXT_TOOLS[opts.context]
    argv = [
        opts.claude_bin,
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--include-partial-messages",
        f"--tools={','.join(tools)}",
        f"--allowedTools={','.join(rules)}",
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


def build_cli_env(
    settings: Settings, *, credential: TurnCredential, config_dir: str | None = None
) -> dict[str, str]:
    """The environment of the claude process: no secret here is ever logged.

    `credential` is this turn's: the tenant's own, or the operator's shared one
    (app.credentials.shared_credential). It is the only credential the process gets."""
    env = {
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "CLAUDE_CODE_MAX_RETRIES": str(settings.claude_max_retries),
        "DISABLE_AUTOUPDATER": "1",
    }
    if settings.anthropic_base_url:
        env["ANTHROPIC_BASE_URL"] = settings.anthropic_base_url
    env.update(credential.env())
    if config_dir:
        env["CLAUDE_CONFIG_DIR"] = config_dir
    return env
