"""Pure parts of the workspace: text for display, git output parsing, the commit message,
the #sim:write plan, webhook signatures and backoff."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from app.services.webhooks import backoff_s, sign
from app.settings import Settings
from workers.simulator.scenarios import WRITE_DONE, WRITE_TODO, plan_for
from workers.workspace.repo import _split_patch, commit_message, parse_changed
from workers.workspace.text import decode_for_display, looks_binary


@pytest.mark.parametrize(("text", "encoding"), [
    ("PROCEDURE Cálculo()\r\n// Ação de exportação do preço\r\n", "cp1252"),
    ("Relatório de vendas — versão 2\r\n", "cp1252"),
    ("Opération réussie", "cp1252"),
    ("Olá, conversão", "utf_8"),
    ("Olá, conversão", "utf_16"),
])
def test_decode_for_display(text: str, encoding: str) -> None:
    data = text.encode(encoding.replace("_", "-") if encoding != "utf_16" else "utf-16")
    assert decode_for_display(data) == (text, encoding)


def test_decode_a_cut_utf8_text_and_binary() -> None:
    data = "ação".encode()
    assert decode_for_display(data[:-2], cut=True)[0] == "aç"
    assert looks_binary(b"PK\x03\x04\x00\x00") and not looks_binary("x".encode("utf-16"))


def test_parse_changed_and_split_patch() -> None:
    raw = (b":100644 100644 aaa bbb M\0a.txt\0:000000 100644 000 ccc A\0b.bin\0"
           b":100644 000000 ddd 000 D\0c/d e.txt\0"
           b"2\t1\ta.txt\0-\t-\tb.bin\0" b"0\t3\tc/d e.txt\0")
    assert [(f.path, f.status, f.additions, f.deletions) for f in parse_changed(raw)] == [
        ("a.txt", "modified", 2, 1), ("b.bin", "added", None, None),
        ("c/d e.txt", "deleted", 0, 3)]
    patch = b"diff --git a/a b/a\n-x\n+y\ndiff --git a/b b/b\n+z\n"
    assert _split_patch(patch) == [b"diff --git a/a b/a\n-x\n+y\n", b"diff --git a/b b/b\n+z\n"]
    assert _split_patch(b"") == []


def test_commit_message() -> None:
    assert commit_message("j1", "\n  Convert WIN_Main\nto React\x00") == "j1 Convert WIN_Main"
    assert commit_message("j1", "x" * 500) == "j1 " + "x" * 200


def _body(prompt: str, results: list[tuple[bool, str]]) -> dict[str, object]:
    messages: list[dict[str, object]] = [{"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>see CLAUDE.md</system-reminder>"},
        {"type": "text", "text": prompt}]}]
    for i, (ok, text) in enumerate(results):
        messages += [{"role": "assistant", "content": [{"type": "tool_use", "id": f"t{i}"}]},
                     {"role": "user", "content": [{"type": "tool_result", "tool_use_id": f"t{i}",
                                                   "is_error": not ok, "content": text}]}]
    return {"max_tokens": 1000, "tools": [{"name": "Write"}], "messages": messages,
            "system": [{"type": "text", "text": "Primary working directory: /workspace/p1\n"}]}


def test_sim_write_plan() -> None:
    read = "     1\t# Notes\n     2\tmore\n"
    steps = [plan_for(_body("convert notes.md #sim:write", [(True, read)] * n)) for n in range(5)]
    uses = [(b.tool, b.tool_input) for p in steps[:4] for b in p.blocks if b.kind == "tool_use"]
    assert [u[0] for u in uses] == ["Read", "Write", "Edit", "Edit"]
    assert uses[0][1] == {"file_path": "/workspace/p1/notes.md"}
    assert uses[1][1]["file_path"] == "/workspace/p1/converted/notes.py"
    assert WRITE_TODO in uses[1][1]["content"] and "SOURCE_LINES = 2" in uses[1][1]["content"]
    assert (uses[2][1]["old_string"], uses[2][1]["new_string"]) == (WRITE_TODO, WRITE_DONE)
    assert uses[3][1] == {"file_path": "/workspace/p1/notes.md", "old_string": "# Notes",
                          "new_string": "# Notes (converted: converted/notes.py)"}
    assert steps[4].stop_reason == "end_turn" and "Tool errors: 0" in steps[4].blocks[0].text
    unread = plan_for(_body("convert x.md #sim:write", [(False, "no such file")] * 3))
    assert "Tool errors: 3" in unread.blocks[0].text  # no source line to edit: it reports


def test_webhook_signature_and_backoff() -> None:
    body = b'{"event":"job.succeeded"}'
    expected = hmac.new(b"whsec_k", body, hashlib.sha256).hexdigest()
    assert sign("whsec_k", body) == f"sha256={expected}"
    settings = Settings(webhook_retry_base_s=2.0, webhook_retry_max_s=10.0)
    assert [backoff_s(settings, n) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 10.0]
