"""The simulator's `#sim:escape` scenario: a prompt's probe lines become tool calls in order,
then a report of what each returned."""

from __future__ import annotations

from typing import Any

from workers.simulator.scenarios import ESCAPE_WRITTEN, escape_calls, plan_for

SYSTEM = "You are Claude Code.\nWorking directory: /workspace/p1\n"


def _body(messages: list[dict[str, Any]]) -> dict[str, Any]:
    return {"system": SYSTEM, "tools": [{"name": "Read"}], "max_tokens": 4096,
            "messages": messages}


def test_probe_lines_become_tool_inputs() -> None:
    script = ("#sim:escape\nRead {cwd}/../x/secret.txt\nrot13:not a probe line\n"
              "Grep token rot13:/ubzr/jk/.pynhqr\nGlob ** {cwd}/..\nWrite /etc/x.txt\n"
              "Edit {cwd}/a.md old\nNotebookEdit {cwd}/n.ipynb")
    assert escape_calls(script, "/workspace/p1") == [
        ("Read", {"file_path": "/workspace/p1/../x/secret.txt"}),
        ("Grep", {"pattern": "token", "output_mode": "content", "path": "/home/wx/.claude"}),
        ("Glob", {"pattern": "**", "path": "/workspace/p1/.."}),
        ("Write", {"file_path": "/etc/x.txt", "content": ESCAPE_WRITTEN + "\n"}),
        ("Edit", {"file_path": "/workspace/p1/a.md", "old_string": "old",
                  "new_string": ESCAPE_WRITTEN}),
        ("NotebookEdit", {"notebook_path": "/workspace/p1/n.ipynb", "new_source": ESCAPE_WRITTEN,
                          "cell_type": "code", "edit_mode": "insert"}),
    ]


def test_one_call_per_step_then_a_report() -> None:
    user = {"role": "user", "content": "#sim:escape\nRead {cwd}/a.md\nRead /etc/passwd"}
    first = plan_for(_body([user]))
    assert first.scenario == "escape" and first.stop_reason == "tool_use"
    assert first.blocks[1].tool_input == {"file_path": "/workspace/p1/a.md"}
    answered: list[dict[str, Any]] = [user]
    for i, (text, is_error) in enumerate([("1\tok", False), ("denied", True)]):
        use_id = f"toolu_{i}"
        answered += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": use_id}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use_id,
                                          "content": text, "is_error": is_error}]},
        ]
        if i == 0:
            assert plan_for(_body(answered)).blocks[1].tool_input == {"file_path": "/etc/passwd"}
    report = plan_for(_body(answered))
    assert report.stop_reason == "end_turn"
    assert report.blocks[0].text == "Probe results:\n1. ok: 1\tok\n2. denied: denied"
