"""Pick what the simulator answers from a Messages API request body (pure, no I/O).

A directive `#sim:<name>` in the text of the last user message chooses the scenario.
When the last user message carries tool results, the scenario is the one of the
turn's first user text, and its step is the number of tool round trips so far.

Usage numbers are deterministic: `input_tokens = 7 + 13 * len(messages)`,
`cache_creation_input_tokens = 1200` on a turn's first call else 200,
`cache_read_input_tokens = 3400 + 100 * len(messages)` (150,000 more for `long`, past a
long-context price tier), `output_tokens` = ceil(chars of the answer / 4) (text plus the
tool input JSON).
"""

from __future__ import annotations

import codecs
import math
import re
from dataclasses import dataclass, field
from typing import Any

import orjson

SCENARIOS = frozenset(
    {"text", "tool", "tools", "task", "long", "401", "429", "500", "529", "slow", "stall",
     "midfail", "huge", "write", "escape"}
)
LONG_CONTEXT_TOKENS = 150_000  # extra cache reads of a `long` request
SUBAGENT_MODEL = "haiku"  # the `task` scenario's subagent runs on this model alias
_SUBAGENT_TOOLS = ("Agent", "Task")  # the subagent tool's API name (2.1.332: Agent)
_STALL_S = 120.0  # long past any idle watchdog a test sets
_DIRECTIVE = re.compile(r"#sim:([a-z0-9]+)")
_FILE = re.compile(r"(?<![\w#:])(/?[\w.\-/]+\.(?:md|txt|py|json|toml|cfg|ini|yaml|yml|ts|js"
                   r"|wdw|wdg|wdc|wdr|wwh|wdp))\b")
_CWD = re.compile(r"[Ww]orking directory: (\S+)")
# Claude Code puts its own notes (e.g. commit attribution, when git is there) into the
# user's message: never read as the user's words.
_REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>", re.DOTALL)

ERRORS: dict[int, tuple[str, str]] = {
    401: ("authentication_error", "invalid x-api-key"),
    429: ("rate_limit_error", "Number of request tokens has exceeded your rate limit (simulated)"),
    500: ("api_error", "Internal server error (simulated)"),
    529: ("overloaded_error", "Overloaded (simulated)"),
}


@dataclass(frozen=True)
class Block:
    """One content block of an answer: text, or a tool_use with its input."""

    kind: str  # "text" | "tool_use"
    text: str = ""
    tool: str = ""
    tool_input: dict[str, Any] = field(default_factory=dict)
    tool_use_id: str = ""

    @property
    def size(self) -> int:
        return len(self.text) if self.kind == "text" else len(orjson.dumps(self.tool_input))


@dataclass(frozen=True)
class Plan:
    """What to answer: an error status, or content blocks streamed at a rate."""

    scenario: str
    blocks: tuple[Block, ...] = ()
    stop_reason: str = "end_turn"
    error_status: int | None = None
    chars_per_s: float | None = None  # None: the server's configured rate; 0: no pacing
    midfail: bool = False
    stall_s: float = 0.0  # silence after the first block's text, before it ends
    side: bool = False
    long_context: bool = False
    usage: dict[str, int] = field(default_factory=dict)


def _blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content or [] if isinstance(b, dict)]


def _text_of(message: dict[str, Any]) -> str:
    text = "\n".join(b.get("text", "") for b in _blocks_of(message) if b.get("type") == "text")
    return _REMINDER.sub("", text).strip()


def _has_tool_result(message: dict[str, Any]) -> bool:
    return any(b.get("type") == "tool_result" for b in _blocks_of(message))


def turn_start(messages: list[dict[str, Any]]) -> tuple[int, int]:
    """Index of the current turn's first user message, and the tool round trips since."""
    steps = 0
    for i in range(len(messages) - 1, -1, -1):
        msg = messages[i]
        if msg.get("role") != "user":
            continue
        if _has_tool_result(msg):
            steps += 1
            continue
        return i, steps
    return 0, steps


def directive(text: str) -> str:
    """The last `#sim:<name>` in a text, or `text` (the default)."""
    found = [m for m in _DIRECTIVE.findall(text) if m in SCENARIOS]
    return found[-1] if found else "text"


def is_side_request(body: dict[str, Any]) -> bool:
    """Claude Code's own calls (quota checks, titles): not part of a scenario."""
    if int(body.get("max_tokens") or 0) <= 1:
        return True
    system = orjson.dumps(body.get("system", "")).decode()
    return "tools" not in body and "Claude Code" not in system


def usage_for(messages_count: int, step: int, output_chars: int,
              long_context: bool = False) -> dict[str, int]:
    return {
        "input_tokens": 7 + 13 * messages_count,
        "cache_creation_input_tokens": 1200 if step == 0 else 200,
        "cache_read_input_tokens": 3400 + 100 * messages_count
        + (LONG_CONTEXT_TOKENS if long_context else 0),
        "output_tokens": max(1, math.ceil(output_chars / 4)),
    }


def plan_for(body: dict[str, Any]) -> Plan:
    """The plan for one request body."""
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    if is_side_request(body):
        return _with_usage(Plan("side", (Block("text", text="OK"),), side=True), messages, 0)
    start, step = turn_start(messages)
    first_text = _text_of(messages[start]) if messages else ""
    name = directive(first_text)
    if name in {"401", "429", "500", "529"}:
        return Plan(name, error_status=int(name))
    builder = _BUILDERS.get(name, _text_plan)
    return _with_usage(builder(name, first_text, messages, step, body), messages, step)


def _with_usage(plan: Plan, messages: list[dict[str, Any]], step: int) -> Plan:
    chars = sum(b.size for b in plan.blocks)
    usage = usage_for(len(messages), step, chars, plan.long_context)
    return Plan(**{**plan.__dict__, "usage": usage})


def _text_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    return Plan(name, (Block("text", text=markdown_answer(text)),))


def _long_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    return Plan(name, (Block("text", text=markdown_answer(text)),), long_context=True)


def _tool_call(name: str, messages: list[Any], say: str, tool: str,
               tool_input: dict[str, Any]) -> Plan:
    """An answer that says `say`, then calls `tool` (its id numbered by the conversation)."""
    blocks = (Block("text", text=say),
              Block("tool_use", tool=tool, tool_input=tool_input,
                    tool_use_id=f"toolu_sim_{len(messages):04d}"))
    return Plan(name, blocks, stop_reason="tool_use")


def _tools_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    """Read, then Glob, then Grep, then answer: four API calls in one turn."""
    calls = (("Read", {"file_path": _tool_path(text, body)}), ("Glob", {"pattern": "**/*.md"}),
             ("Grep", {"pattern": "demo", "output_mode": "files_with_matches"}))
    if step < len(calls):
        tool, tool_input = calls[step]
        return _tool_call(name, messages, f"Step {step + 1}: {tool}.", tool, tool_input)
    return Plan(name, (Block("text", text="I read, listed and searched the project. Done."),))


def _slow_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    long = "\n\n".join(f"Paragraph {i}: " + "slow streaming text. " * 4 for i in range(1, 21))
    return Plan(name, (Block("text", text=long),), chars_per_s=len(long) / 30.0)


def _stall_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    return Plan(name, (Block("text", text="Thinking about it..."),), stall_s=_STALL_S)


def _midfail_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    return Plan(name, (Block("text", text=markdown_answer(text)),), midfail=True)


def _huge_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    line = "huge line of simulated output, " * 3 + "\n"
    return Plan(name, (Block("text", text=line * (2_100_000 // len(line) + 1)),), chars_per_s=0)


def _tool_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    if step == 0:
        path = _tool_path(text, body)
        return _tool_call(name, messages, f"Let me read `{path.rsplit('/', 1)[-1]}` first.",
                          "Read", {"file_path": path})
    quoted = _last_tool_result(messages)[:300]
    answer = "I read the file. It begins with:\n\n```\n" + quoted + "\n```\n\nThat is all I needed."
    return Plan(name, (Block("text", text=answer),))


def _task_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    """Hand a Read-and-summarise job to a subagent on a second model, then report."""
    if step == 0:
        tool = _offered_tool(body, _SUBAGENT_TOOLS)
        brief = {"description": "Summarise the readme", "subagent_type": "general-purpose",
                 "prompt": "Read README.md and summarise it #sim:tool",
                 "model": SUBAGENT_MODEL, "run_in_background": False}
        return _tool_call(name, messages, "I will ask a subagent to read the readme.", tool, brief)
    report = _last_tool_result(messages)[:300]
    return Plan(name, (Block("text", text="The subagent reported:\n\n" + report),))


def _write_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    """A conversion with Claude Code's own file tools: Read the named file (README.md by
    default), Write `converted/<stem>.py` from it, Edit that file, Edit the source's first
    line (when the Read worked), then report."""
    source = _tool_path(text, body)
    stem = re.sub(r"\W", "_", source.rsplit("/", 1)[-1].rsplit(".", 1)[0]) or "module"
    target = f"{_cwd(body)}/converted/{stem}.py"
    results = _turn_tool_results(messages)
    read_ok, read_text = results[0] if results else (False, "")
    first = _first_line(read_text) if read_ok else ""
    calls: list[tuple[str, dict[str, Any]]] = [
        ("Read", {"file_path": source}),
        ("Write", {"file_path": target, "content": _converted(source, read_text, read_ok)}),
        ("Edit", {"file_path": target, "old_string": WRITE_TODO, "new_string": WRITE_DONE}),
    ]
    if first:
        calls.append(("Edit", {"file_path": source, "old_string": first,
                               "new_string": f"{first} {WRITE_NOTE}converted/{stem}.py)"}))
    if step < len(calls):
        tool, tool_input = calls[step]
        say = f"Step {step + 1}: {tool} {tool_input['file_path']}."
        return _tool_call(name, messages, say, tool, tool_input)
    errors = sum(1 for ok, _ in results if not ok)
    report = f"I converted `{source.rsplit('/', 1)[-1]}` into `converted/{stem}.py`."
    return Plan(name, (Block("text", text=f"{report} Tool errors: {errors}."),))


def _escape_plan(name: str, text: str, messages: list[Any], step: int, body: Any) -> Plan:
    """A scripted probe of the file tools: each line `Tool arg [arg]` of the prompt
    (`{cwd}` stands for the working directory; `rot13:<text>` for an argument the input
    guardrail must not read, as when the model follows instructions it read in a file) is one tool
    call, in order; then a report that quotes what each call returned, so a leak shows in
    the answer too."""
    calls = escape_calls(text, _cwd(body))
    if step < len(calls):
        tool, tool_input = calls[step]
        return _tool_call(name, messages, f"Probe {step + 1}: {tool}.", tool, tool_input)
    lines = [f"{i + 1}. {'ok' if ok else 'denied'}: {out[:200]}"
             for i, (ok, out) in enumerate(_turn_tool_results(messages))]
    return Plan(name, (Block("text", text="Probe results:\n" + "\n".join(lines)),))


ESCAPE_WRITTEN = "written by an escape probe"
_ESCAPE_LINE = re.compile(r"^(Read|Write|Edit|Glob|Grep|NotebookEdit)\s+(\S+)(?:\s+(\S+))?\s*$",
                          re.MULTILINE)


def escape_calls(text: str, cwd: str) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls an escape script asks for (see _escape_plan)."""
    calls = []
    for tool, first, second in _ESCAPE_LINE.findall(text):
        first, second = (_escape_arg(a).replace("{cwd}", cwd) for a in (first, second))
        calls.append((tool, _escape_input(tool, first, second)))
    return calls


def _escape_arg(arg: str) -> str:
    return codecs.decode(arg[6:], "rot13") if arg.startswith("rot13:") else arg


def _escape_input(tool: str, first: str, second: str) -> dict[str, Any]:
    if tool == "Read":
        return {"file_path": first}
    if tool == "Write":
        return {"file_path": first, "content": ESCAPE_WRITTEN + "\n"}
    if tool == "Edit":
        return {"file_path": first, "old_string": second or "root", "new_string": ESCAPE_WRITTEN}
    if tool == "NotebookEdit":
        return {"notebook_path": first, "new_source": ESCAPE_WRITTEN, "cell_type": "code",
                "edit_mode": "insert"}
    key = "output_mode"
    search: dict[str, Any] = {"pattern": first}
    if tool == "Grep":
        search[key] = "content"
    if second:
        search["path"] = second
    return search


WRITE_TODO = "# TODO: port the remaining procedures"
WRITE_DONE = "# Ported: every procedure"
WRITE_NOTE = "(converted: "  # the source's first line gets "(converted: converted/<stem>.py)"


def _converted(source: str, read_text: str, read_ok: bool) -> str:
    lines = len(read_text.splitlines()) if read_ok else 0
    return (f'"""Converted from {source.rsplit("/", 1)[-1]} by the wxcode simulator."""\n\n'
            f"{WRITE_TODO}\nSOURCE_LINES = {lines}\n")


_READ_LINE = re.compile(r"^\s*\d+(?:\t|\u2192)(.*)$")


def _first_line(read_text: str) -> str:
    """The first line of the file a Read returned (its lines come numbered)."""
    for line in read_text.splitlines():
        match = _READ_LINE.match(line)
        if match and match.group(1).strip():
            return match.group(1).rstrip("\r")
    return ""


def _turn_tool_results(messages: list[dict[str, Any]]) -> list[tuple[bool, str]]:
    """(ok, text) of each tool result of the current turn, in order."""
    start, _ = turn_start(messages)
    out = []
    for msg in messages[start + 1:]:
        for b in _blocks_of(msg):
            if b.get("type") == "tool_result":
                content = b.get("content")
                text = ("\n".join(c.get("text", "") for c in content if isinstance(c, dict))
                        if isinstance(content, list) else str(content or ""))
                out.append((not b.get("is_error"), text))
    return out


def _offered_tool(body: Any, names: tuple[str, ...]) -> str:
    offered = {str(t.get("name")) for t in body.get("tools") or [] if isinstance(t, dict)}
    return next((n for n in names if n in offered), names[0])


def _tool_path(text: str, body: Any) -> str:
    named = [m for m in _FILE.findall(text)]
    path = named[0] if named else "README.md"
    if path.startswith("/"):
        return path
    cwd = _cwd(body)
    return f"{cwd}/{path}" if cwd else path


def _cwd(body: Any) -> str:
    """Claude Code's working directory, as its system prompt tells the model."""
    system = body.get("system", "")
    texts = [system] if isinstance(system, str) else [
        b.get("text", "") for b in system or [] if isinstance(b, dict)]
    for message in body.get("messages") or []:
        if isinstance(message, dict):
            texts += [b.get("text", "") for b in _blocks_of(message) if b.get("type") == "text"]
    found = _CWD.search("\n".join(str(t) for t in texts))
    return found.group(1).rstrip("/") if found else ""


def _last_tool_result(messages: list[dict[str, Any]]) -> str:
    for msg in reversed(messages):
        for b in _blocks_of(msg):
            if b.get("type") == "tool_result":
                content = b.get("content")
                if isinstance(content, list):
                    return "\n".join(c.get("text", "") for c in content if isinstance(c, dict))
                return str(content or "")
    return ""


def markdown_answer(prompt: str) -> str:
    """The deterministic default answer: a few paragraphs of markdown with a code block."""
    topic = re.sub(r"\s+", " ", _DIRECTIVE.sub("", prompt)).strip()[:60] or "your project"
    return (
        f"## About {topic}\n\n"
        "This is a **simulated** answer from the wxcode runner's Anthropic API simulator. "
        "It streams at a steady rate so the interface can be tested end to end.\n\n"
        "Here is a small example of converted code:\n\n"
        "```python\n"
        "def total(items: list[float]) -> float:\n"
        "    return sum(items)\n"
        "```\n\n"
        "- the first point of a list\n"
        "- the second point, with `inline code`\n\n"
        "That is the end of the simulated answer."
    )


_BUILDERS = {
    "escape": _escape_plan,
    "text": _text_plan,
    "tool": _tool_plan,
    "task": _task_plan,
    "tools": _tools_plan,
    "long": _long_plan,
    "slow": _slow_plan,
    "stall": _stall_plan,
    "midfail": _midfail_plan,
    "huge": _huge_plan,
    "write": _write_plan,
}
