"""The direct-pipe baseline of bench_concurrency.py: one process that, for each message on a
WebSocket, spawns the stand-in claude and forwards its stdout lines as they come. No queue,
no Redis, no database: the least any chat-with-claude service must do.

Run: `python bench/pipe_server.py --port N --claude PATH [--docker-container NAME]`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os

from websockets.asyncio.server import ServerConnection, serve


async def _spawn(args: argparse.Namespace, prompt: str) -> asyncio.subprocess.Process:
    argv = [args.claude, "-p", "--output-format", "stream-json", "--verbose", "--", prompt]
    if args.docker_container:
        argv = ["docker", "exec", "-u", "1000:1000", args.docker_container, *argv]
    proc = await asyncio.create_subprocess_exec(*argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.DEVNULL,
                                                limit=64 * 1024 * 1024)
    with contextlib.suppress(OSError):  # the same priority as the runner gives claude
        os.setpriority(os.PRIO_PROCESS, proc.pid, args.nice)
    return proc


async def _handle(ws: ServerConnection, args: argparse.Namespace) -> None:
    async for raw in ws:
        prompt = json.loads(raw)["content"]
        proc = await _spawn(args, prompt)
        assert proc.stdout is not None
        async for line in proc.stdout:
            await ws.send(line.decode().rstrip("\n"))
        await proc.wait()
        await ws.send(json.dumps({"type": "end"}))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--claude", required=True)
    parser.add_argument("--docker-container", default="")
    parser.add_argument("--nice", type=int, default=10)
    args = parser.parse_args()
    # No compression, as the runner's API (`wxrunner api`).
    async with serve(lambda ws: _handle(ws, args), "127.0.0.1", args.port, max_size=None,
                     compression=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main())
