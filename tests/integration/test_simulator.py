"""The Anthropic API simulator over real HTTP, and the real claude binary against it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

KEY = {"x-api-key": "sk-ant-sim-test"}


def body(text: str, *, stream: bool = False, **extra: Any) -> dict[str, Any]:
    return {"model": "claude-test-model", "max_tokens": 1024, "stream": stream,
            "tools": [{"name": "Read", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": text}]}], **extra}


def sse_events(raw: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields["event"], orjson.loads(fields["data"])))
    return events


def test_root_answers(sim_url: str) -> None:
    assert httpx.get(sim_url).status_code == 200
    assert httpx.head(sim_url).status_code == 200


def test_streaming_event_order(sim_url: str) -> None:
    resp = httpx.post(f"{sim_url}/v1/messages?beta=true", headers=KEY,
                      json=body("hi #sim:tool", stream=True), timeout=30)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
    events = sse_events(resp.text)
    names = [name for name, _ in events if name != "ping"]
    assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
    assert names.count("content_block_start") == names.count("content_block_stop") == 2
    start = events[0][1]["message"]
    assert start["model"] == "claude-test-model" and start["id"].startswith("msg_")
    assert start["usage"]["cache_creation_input_tokens"] > 0
    assert start["usage"]["cache_read_input_tokens"] > 0
    deltas = [d["delta"]["type"] for n, d in events if n == "content_block_delta"]
    assert "text_delta" in deltas and "input_json_delta" in deltas
    tool_json = "".join(d["delta"].get("partial_json", "") for n, d in events
                        if n == "content_block_delta")
    assert orjson.loads(tool_json)["file_path"].endswith("README.md")
    final = events[-2][1]
    assert final["delta"]["stop_reason"] == "tool_use" and final["usage"]["output_tokens"] > 1


def test_non_streaming_and_the_tool_round_trip(sim_url: str) -> None:
    first = httpx.post(f"{sim_url}/v1/messages", headers=KEY, json=body("hi #sim:tool")).json()
    assert first["type"] == "message" and first["stop_reason"] == "tool_use"
    use = first["content"][1]
    assert use["type"] == "tool_use" and use["name"] == "Read"
    follow = body("hi #sim:tool")
    follow["messages"] += [
        {"role": "assistant", "content": first["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use["id"],
                                      "content": "QUOTED-LINE from the file"}]}]
    second = httpx.post(f"{sim_url}/v1/messages", headers=KEY, json=follow).json()
    assert second["stop_reason"] == "end_turn"
    assert "QUOTED-LINE" in second["content"][0]["text"]
    assert second["usage"]["input_tokens"] == 7 + 13 * 3


def test_auth(sim_url: str) -> None:
    resp = httpx.post(f"{sim_url}/v1/messages", json=body("hi"))
    assert resp.status_code == 401
    err = resp.json()
    assert err["type"] == "error" and err["error"]["type"] == "authentication_error"
    bearer = httpx.post(f"{sim_url}/v1/messages", json=body("hi"),
                        headers={"authorization": "Bearer sk-ant-oat01-x"})
    assert bearer.status_code == 200


@pytest.mark.parametrize(("status", "kind"), [(401, "authentication_error"),
                                              (429, "rate_limit_error"), (500, "api_error"),
                                              (529, "overloaded_error")])
def test_error_scenarios(sim_url: str, status: int, kind: str) -> None:
    resp = httpx.post(f"{sim_url}/v1/messages", headers=KEY, json=body(f"x #sim:{status}"))
    assert resp.status_code == status and resp.json()["error"]["type"] == kind
    if status == 429:
        assert int(resp.headers["retry-after"]) > 0
        assert resp.headers["anthropic-ratelimit-unified-status"] == "rejected"
        assert int(resp.headers["anthropic-ratelimit-unified-reset"]) > 1_700_000_000


def test_midfail_breaks_the_first_stream_only(sim_url: str) -> None:
    request = body("unique-midfail-1 #sim:midfail", stream=True)
    first = sse_events(httpx.post(f"{sim_url}/v1/messages", headers=KEY, json=request).text)
    assert first[-1][0] == "error" and "message_stop" not in [n for n, _ in first]
    retry = httpx.post(f"{sim_url}/v1/messages", headers=KEY,
                       json={**request, "stream": False}).json()
    assert retry["stop_reason"] == "end_turn" and retry["id"] != first[0][1]["message"]["id"]


def test_side_requests_and_count_tokens(sim_url: str) -> None:
    quota = httpx.post(f"{sim_url}/v1/messages", headers=KEY,
                       json=body("quota #sim:500", max_tokens=1)).json()
    assert quota["type"] == "message"
    count = httpx.post(f"{sim_url}/v1/messages/count_tokens", headers=KEY, json=body("hi"))
    assert count.status_code == 200 and count.json()["input_tokens"] > 0


def test_huge_is_over_two_megabytes(sim_url: str) -> None:
    resp = httpx.post(f"{sim_url}/v1/messages", headers=KEY, json=body("#sim:huge"), timeout=30)
    assert len(resp.json()["content"][0]["text"]) >= 2_000_000


def test_real_claude_usage_matches_the_simulator(sim_url: str, claude_bin: Path,
                                                  tmp_path: Path) -> None:
    before = len(httpx.get(f"{sim_url}/_sim/served").json())
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path),
           "ANTHROPIC_BASE_URL": sim_url, "ANTHROPIC_API_KEY": "sk-ant-sim-test",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "CLAUDE_CODE_MAX_RETRIES": "0",
           "CLAUDE_CONFIG_DIR": str(tmp_path / "config")}
    proc = subprocess.run(
        [str(claude_bin), "-p", "--output-format", "stream-json", "--verbose",
         "--include-partial-messages", "--tools", "Read", "Grep", "Glob", "--allowedTools",
         "Read", "Grep", "Glob", "--permission-mode", "dontAsk", "--disable-slash-commands",
         "--", "hello #sim:text"],
        cwd=tmp_path, env=env, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    lines = [orjson.loads(line) for line in proc.stdout.splitlines()]
    result = lines[-1]
    assert result["type"] == "result" and result["subtype"] == "success"
    assert not result["is_error"]
    served = [s for s in httpx.get(f"{sim_url}/_sim/served").json()[before:] if not s["side"]]
    assert [s["scenario"] for s in served] == ["text"]
    assert served[0]["model"] == lines[0]["model"]
    for key, value in served[0]["usage"].items():
        assert result["usage"][key] == value, key
    assert "simulated" in result["result"]


def _claude(claude_bin: Path, sim_url: str, home: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "ANTHROPIC_BASE_URL": sim_url,
           "ANTHROPIC_API_KEY": "sk-ant-sim-test", "CLAUDE_CODE_MAX_RETRIES": "0",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "CLAUDE_CONFIG_DIR": str(home / "c")}
    return subprocess.Popen(
        [str(claude_bin), "-p", "--output-format", "stream-json", "--verbose",
         "--include-partial-messages", "--permission-mode", "dontAsk",
         "--disable-slash-commands", *args], cwd=home, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL)


def test_billed_per_claude_session_with_a_subagent_on_a_second_model(
        sim_url: str, claude_bin: Path, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("# demo\n")
    tools = ["Read", "Grep", "Glob", "Agent"]
    proc = _claude(claude_bin, sim_url, tmp_path, "--tools", *tools, "--allowedTools", *tools,
                   "--", "Delegate the summary #sim:task")
    out, _ = proc.communicate(timeout=120)
    result = orjson.loads(out.splitlines()[-1])
    assert result["subtype"] == "success", result
    billed = httpx.get(f"{sim_url}/_sim/billed",
                       params={"session": result["session_id"]}).json()
    assert billed["pending"] == 0 and not billed["unpriced"]
    assert sorted(billed["by_model"]) == sorted(result["modelUsage"]) == [
        "claude-haiku-5-5", "claude-opus-5-5"]
    for model, usage in result["modelUsage"].items():
        mine = billed["by_model"][model]
        assert (mine["input_tokens"], mine["output_tokens"], mine["cache_read_tokens"]) == (
            usage["inputTokens"], usage["outputTokens"], usage["cacheReadInputTokens"])
        assert mine["usd"] == pytest.approx(usage["costUSD"], rel=0.01)
    served = httpx.get(f"{sim_url}/_sim/served", params={"session": result["session_id"]}).json()
    agents = {s["model"]: bool(s["agent_id"]) for s in served}
    assert agents == {"claude-opus-5-5": False, "claude-haiku-5-5": True}


def test_an_answer_cut_by_sigint_is_billed_for_what_was_sent(
        sim_url: str, claude_bin: Path, tmp_path: Path) -> None:
    import signal
    import time

    proc = _claude(claude_bin, sim_url, tmp_path, "--tools", "Read", "--", "long #sim:slow")
    assert proc.stdout is not None
    head = b""
    while b"text_delta" not in head:
        head += proc.stdout.readline()
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    result = orjson.loads(out.splitlines()[-1])
    time.sleep(0.3)
    [entry] = httpx.get(f"{sim_url}/_sim/served", params={"session": result["session_id"]}).json()
    full = entry["usage"]["output_tokens"]
    assert 0 < entry["billed_usage"]["output_tokens"] < full and entry["billed_usd"] > 0
