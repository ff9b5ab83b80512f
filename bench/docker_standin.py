"""The Docker rows of bench_concurrency.py: the C stand-in claude (bench/standin.c), built
static, in an image made from the tenant image (offline: FROM the local tenant image)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from app.settings import Settings

STANDIN_IN_CONTAINER = "/usr/local/bin/standin-claude"
TENANT = "bench"


def build_standin(out: Path) -> Path:
    """Compile bench/standin.c statically (gcc; `apt-get install gcc libc6-dev` if missing)."""
    binary = out / "standin-claude"
    source = Path(__file__).with_name("standin.c")
    subprocess.run(["gcc", "-O2", "-static", "-o", str(binary), str(source)], check=True)
    return binary


def build_image(binary: Path) -> str:
    """`<tenant image>-bench`: the tenant image plus the stand-in."""
    import docker

    base = Settings().tenant_image
    tag = f"{base}-bench"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        dockerfile = (f"FROM {base}\nCOPY standin-claude {STANDIN_IN_CONTAINER}\n").encode()
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
        tar.add(str(binary), arcname="standin-claude")
    client = docker.from_env()
    try:
        client.images.build(fileobj=io.BytesIO(context.getvalue()),
                            custom_context=True, tag=tag, rm=True, pull=False)
    finally:
        client.close()
    return tag


def remove_container(deployment: str) -> None:
    """The bench tenant's container and volumes (by the deployment's label)."""
    import docker

    client = docker.from_env()
    try:
        label = f"wx.deployment={deployment}"
        for container in client.containers.list(all=True, filters={"label": label}):
            container.remove(force=True)
        for volume in client.volumes.list(filters={"label": label}):
            volume.remove(force=True)
    finally:
        client.close()


def docker_extra(root: Path) -> dict[str, str]:
    """The settings of the Docker runner of the benchmark."""
    root.mkdir(parents=True, exist_ok=True)
    image = build_image(build_standin(root))
    return {"tenant_image": image, "claude_bin_in_container": STANDIN_IN_CONTAINER,
            "deployment": "bench-docker"}
