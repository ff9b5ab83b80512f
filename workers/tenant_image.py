"""The offline tenant image: `FROM scratch`, the claude binary, its glibc, busybox, git (the
runner commits each turn's changes inside the tenant's own container), socat (the forwarder
from the container's loopback to the egress proxy's socket), user wx."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from app.errors import ExecutorFailed
from app.settings import Settings

__all__ = ["build_tenant_image", "image_exists", "make_build_context"]

log = logging.getLogger(__name__)

WX_UID = 1000
BUSYBOX = Path("/bin/busybox")
GIT = Path("/usr/bin/git")  # every command the runner uses is built into the one binary
SOCAT = Path("/usr/bin/socat")
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

_DOCKERFILE = """\
FROM scratch
COPY rootfs/ /
COPY --chown=1000:1000 home/ /home/wx/
COPY --chown=1000:1000 workspace/ /workspace/
ENV PATH=/usr/local/bin:/usr/bin:/bin HOME=/home/wx LANG=C.UTF-8 \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 1000:1000
WORKDIR /workspace
CMD ["/bin/sleep", "2147483647"]
"""


def image_exists(client: Any, tag: str) -> bool:
    """True when the docker daemon already has `tag`."""
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def build_tenant_image(settings: Settings, *, client: Any = None, if_missing: bool = False) -> str:
    """Build the offline tenant image under `settings.tenant_image`; returns the image id."""
    import docker

    client = client or docker.from_env(timeout=600)
    if if_missing and image_exists(client, settings.tenant_image):
        return str(client.images.get(settings.tenant_image).id)
    with tempfile.TemporaryDirectory(prefix="wx-tenant-image-") as tmp:
        context = make_build_context(settings, Path(tmp))
        try:
            image, _logs = client.images.build(
                path=str(context), tag=settings.tenant_image, rm=True, forcerm=True, pull=False
            )
        except docker.errors.BuildError as exc:
            raise ExecutorFailed(f"tenant image build failed: {exc.msg}") from exc
    log.info("built tenant image %s (%s)", settings.tenant_image, image.id)
    return str(image.id)


def make_build_context(settings: Settings, dest: Path) -> Path:
    """Lay out the build context (Dockerfile + rootfs) in `dest`; returns `dest`."""
    claude = _resolve_claude(settings.claude_bin)
    rootfs = dest / "rootfs"
    _copy(claude, rootfs / settings.claude_bin_in_container.lstrip("/"), mode=0o755)
    for tool, package in ((GIT, "git"), (SOCAT, "socat")):
        if not tool.is_file():
            raise ExecutorFailed(f"{tool} ({package}) is missing: run scripts/bootstrap.sh")
        _copy(tool, rootfs / str(tool).lstrip("/"), mode=0o755)
    for lib in {*shared_libraries(claude), *shared_libraries(GIT), *shared_libraries(SOCAT)}:
        _copy(lib, rootfs / str(lib).lstrip("/"), mode=0o755)
    _install_busybox(rootfs)
    _write_etc(rootfs)
    (rootfs / "tmp").mkdir(exist_ok=True)
    (rootfs / "tmp").chmod(0o1777)
    (dest / "home" / ".claude").mkdir(parents=True)
    (dest / "workspace").mkdir()
    # COPY of an empty directory still creates it, but an empty dir may be skipped
    # by some builders: a marker keeps both present.
    (dest / "workspace" / ".wx").write_text("")
    (dest / "Dockerfile").write_text(_DOCKERFILE)
    return dest


def shared_libraries(binary: Path) -> list[Path]:
    """The absolute paths `ldd` lists for `binary`, dynamic loader included."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    paths = []
    for line in out.splitlines():
        match = re.search(r"(/\S+)\s+\(0x", line)
        if match:
            paths.append(Path(match.group(1)))
    if not paths:
        raise ExecutorFailed(f"ldd found no libraries for {binary}")
    return paths


def _resolve_claude(claude_bin: Path) -> Path:
    real = claude_bin.resolve()
    if not real.is_file():
        raise ExecutorFailed(f"claude binary not found at {claude_bin}: run scripts/bootstrap.sh")
    return real


def _install_busybox(rootfs: Path) -> None:
    if not BUSYBOX.is_file():
        raise ExecutorFailed("/bin/busybox (busybox-static) is missing: run scripts/bootstrap.sh")
    bindir = rootfs / "bin"
    _copy(BUSYBOX, bindir / "busybox", mode=0o755)
    applets = subprocess.run(
        [str(BUSYBOX), "--list"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        if applet != "busybox" and "/" not in applet:
            link = bindir / applet
            if not link.exists():
                link.symlink_to("busybox")
    (rootfs / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    (rootfs / "usr" / "bin" / "env").symlink_to("/bin/busybox")


def _write_etc(rootfs: Path) -> None:
    etc = rootfs / "etc"
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\n"
        f"wx:x:{WX_UID}:{WX_UID}:wx:/home/wx:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    )
    (etc / "group").write_text(f"root:x:0:\nwx:x:{WX_UID}:\nnogroup:x:65534:\n")
    if CA_BUNDLE.is_file():
        _copy(CA_BUNDLE, rootfs / str(CA_BUNDLE).lstrip("/"), mode=0o644)
    else:
        log.warning("no CA bundle at %s: claude will not reach a real API over TLS", CA_BUNDLE)


def _copy(src: Path, dst: Path, *, mode: int) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    src = src.resolve()  # link() would hard-link a symlink itself, e.g. /lib64/ld-linux
    try:
        os.link(src, dst)  # the claude binary is ~400 MB: avoid a copy when we can
    except OSError:
        shutil.copyfile(src, dst)
        os.chmod(dst, mode)
