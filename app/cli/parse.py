"""`wxrunner parse FILE`: turn a captured stream-json file into protocol frames."""

from __future__ import annotations

import typer

WORKSPACE_ROOT = "/workspace"


def register(cli: typer.Typer) -> None:
    cli.command("parse")(parse)


def parse(
    file: str = typer.Argument(..., help="capture file (.jsonl or .jsonl.gz), or - for stdin"),
    tenant: str = typer.Option("demo", help="tenant id (its local workspace path is hidden too)"),
    project: str = typer.Option("demo", help="project id"),
    workdir: str | None = typer.Option(None, help="claude's cwd (default /workspace/<project>)"),
    job_id: str = typer.Option("parse", help="job_id put on the frames"),
) -> None:
    """Print the frames the worker would publish for a captured claude stdout, one JSON a line."""
    import sys

    from app.guardrail import Guardrail
    from app.settings import get_settings
    from workers.turn_frames import TurnStream

    settings = get_settings()
    prefixes = [workdir or f"{WORKSPACE_ROOT}/{project}",
                str(settings.workspaces_dir / tenant / project)]
    sanitizer = Guardrail(settings).output_sanitizer(path_prefixes=prefixes)
    stream = TurnStream(job_id=job_id, sanitizer=sanitizer,
                        tool_result_max_chars=settings.tool_result_max_chars)
    out = sys.stdout.buffer
    seq = 0

    def emit(frames: list) -> None:  # type: ignore[type-arg]
        nonlocal seq
        for frame in frames:
            seq += 1
            frame.seq = seq
            out.write(frame.model_dump_json().encode() + b"\n")

    with _open(file) as source:
        for line in source:
            emit(stream.feed_line(line.rstrip(b"\r\n")))
    emit(stream.finish(exit_code=0 if stream.tracker.result is not None else None))
    out.flush()


def _open(file: str):  # type: ignore[no-untyped-def]
    """A binary line source: stdin, a gzip file or a plain file."""
    import contextlib
    import gzip
    import sys

    if file == "-":
        return contextlib.nullcontext(sys.stdin.buffer)
    if file.endswith(".gz"):
        return gzip.open(file, "rb")
    return open(file, "rb")
