"""The workspace's costs on the Docker executor, each beside a baseline measured in the same run.

* per turn: the commit before it and the commit after it (git in the tenant container),
  beside one bare `docker exec` (`true`) — the floor of anything run in the container;
* upload: a checked tar stream written with put_archive (the worker's path), beside the
  Docker SDK's own put_archive of the same bytes in one piece;
* download: the zip streamed from get_archive (the worker's path), beside reading the raw
  tar of the same folder with the SDK.

Run: .venv/bin/python bench/bench_workspace.py [--files 2000] [--rounds 20]
Writes bench/results/workspace.json."""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import tarfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.settings import Settings
from workers.executor.docker import DockerExecutor
from workers.workspace import Workspace, commit_turn, snapshot, zip_of

RESULTS = Path(__file__).resolve().parent / "results"
TAG = f"wxbench{uuid.uuid4().hex[:6]}"


def _project_tar(files: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        for i in range(files):
            data = (f"PROCEDURE P{i}()\r\n" + "// linha de código\r\n" * 40).encode("cp1252")
            info = tarfile.TarInfo(f"Projeto/mod{i // 100}/P{i}.wdg")
            info.size, info.uid, info.gid = len(data), 1000, 1000
            archive.addfile(info, io.BytesIO(data))
    return buf.getvalue()


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 256 * 1024):
        yield data[start:start + 256 * 1024]


async def _timed(fn: Callable[[], Awaitable[Any]], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _stats(ms: list[float]) -> dict[str, float]:
    return {"p50_ms": round(statistics.median(ms), 1), "p90_ms": round(
        sorted(ms)[int(len(ms) * 0.9) - 1], 1)}


async def main(files: int, rounds: int) -> dict[str, Any]:
    settings = Settings(deployment=TAG)
    ex = DockerExecutor(settings, labels={"wx.bench": TAG})
    tenant, project = TAG, "p1"
    ws = Workspace(ex, tenant, project)
    tar = _project_tar(files)
    result: dict[str, Any] = {"files": files, "tar_bytes": len(tar), "rounds": rounds,
                              "cpus": os.cpu_count()}
    try:
        await ex.run_command(tenant, project, ["true"])
        container = ex.ensure_container(tenant)

        upload = await _timed(lambda: ex.put_archive(tenant, project, _chunks(tar)), 3)
        raw_upload = await _timed(lambda: asyncio.to_thread(
            container.put_archive, f"/workspace/{project}", tar), 3)
        result["upload"] = {"runner": _stats(upload), "sdk": _stats(raw_upload),
                            "ratio": round(statistics.median(upload)
                                           / statistics.median(raw_upload), 2)}
        await snapshot(ws, "upload")

        async def zipped() -> int:
            return sum([len(c) async for c in zip_of(ws)])

        async def raw_tar() -> int:
            def read() -> int:
                stream, _ = container.get_archive(f"/workspace/{project}")
                return sum(len(c) for c in stream)
            return await asyncio.to_thread(read)

        download = await _timed(zipped, 3)
        raw_download = await _timed(raw_tar, 3)
        result["download"] = {"runner_zip": _stats(download), "sdk_tar": _stats(raw_download),
                              "ratio": round(statistics.median(download)
                                             / statistics.median(raw_download), 2)}

        bare = await _timed(lambda: ex.run_command(tenant, project, ["true"]), rounds)
        before = await _timed(lambda: snapshot(ws, "before"), rounds)
        counter = iter(range(10**6))

        async def after() -> None:
            n = next(counter)
            await ex.run_command(tenant, project, ["sh", "-c", f"echo {n} >> Projeto/turn.txt"])
            await commit_turn(ws, f"{n:024x}", "convert")

        edit_only = await _timed(lambda: ex.run_command(
            tenant, project, ["sh", "-c", "echo x >> Projeto/turn.txt"]), rounds)
        committed = await _timed(after, rounds)
        commit_ms = [c - e for c, e in zip(committed, edit_only, strict=True)]
        result["per_turn"] = {
            "bare_exec": _stats(bare), "commit_before": _stats(before),
            "commit_after": _stats(commit_ms),
            "ratio_to_bare_exec": round((statistics.median(before) + statistics.median(commit_ms))
                                        / statistics.median(bare), 2)}
    finally:
        await ex.close()
        import docker

        client = docker.from_env()
        for c in client.containers.list(all=True, filters={"label": f"wx.bench={TAG}"}):
            c.remove(force=True)
        for v in client.volumes.list(filters={"label": f"wx.bench={TAG}"}):
            v.remove(force=True)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    figures = asyncio.run(main(args.files, args.rounds))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "workspace.json").write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
    print(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode())
