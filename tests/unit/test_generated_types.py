"""The frontend's generated TypeScript types match the backend's schemas (no drift)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.helpers import REPO_ROOT

GENERATED = ("protocol.gen.ts", "openapi.gen.ts")


def test_generated_types_are_up_to_date(tmp_path: Path) -> None:
    proc = subprocess.run(
        ["bash", str(REPO_ROOT / "scripts" / "gen_types.sh"), str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"gen_types.sh failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
    committed = REPO_ROOT / "frontend" / "src" / "lib" / "api"
    stale = [name for name in GENERATED
             if (tmp_path / name).read_text() != (committed / name).read_text()]
    assert not stale, f"{stale} differ from the backend's schemas: run scripts/gen_types.sh"


def test_protocol_types_hold_every_frame() -> None:
    text = (REPO_ROOT / "frontend" / "src" / "lib" / "api" / "protocol.gen.ts").read_text()
    from app.protocol import client_frame_adapter, server_frame_adapter

    for adapter in (server_frame_adapter, client_frame_adapter):
        for name in adapter.json_schema()["$defs"]:
            if name.endswith("Frame"):
                assert f"export interface {name} " in text, name
