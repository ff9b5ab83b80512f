"""The offline tenant image: its build context, its config, and `--if-missing` caching."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from app.settings import Settings
from tests.helpers import VENV_BIN
from workers.tenant_image import build_tenant_image, make_build_context


def test_build_context_layout(tmp_path: Path) -> None:
    settings = Settings()
    context = make_build_context(settings, tmp_path)
    rootfs = context / "rootfs"
    claude = rootfs / settings.claude_bin_in_container.lstrip("/")
    assert claude.stat().st_size == settings.claude_bin.resolve().stat().st_size
    assert (rootfs / "lib64" / "ld-linux-x86-64.so.2").is_file()
    assert not (rootfs / "lib64" / "ld-linux-x86-64.so.2").is_symlink()
    assert (rootfs / "lib" / "x86_64-linux-gnu" / "libc.so.6").is_file()
    assert (rootfs / "bin" / "sh").readlink() == Path("busybox")
    assert (rootfs / "usr" / "bin" / "git").is_file()
    assert (rootfs / "lib" / "x86_64-linux-gnu" / "libpcre2-8.so.0").is_file()  # git's
    assert (rootfs / "usr" / "bin" / "socat").is_file()  # the egress forwarder
    assert (rootfs / "lib" / "x86_64-linux-gnu" / "libwrap.so.0").is_file()  # socat's
    assert "wx:x:1000:1000:wx:/home/wx:" in (rootfs / "etc" / "passwd").read_text()
    assert (rootfs / "etc" / "ssl" / "certs" / "ca-certificates.crt").is_file()
    dockerfile = (context / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM scratch") and "USER 1000:1000" in dockerfile


def test_image_config_and_if_missing(docker_client: Any) -> None:
    settings = Settings()
    image_id = build_tenant_image(settings, client=docker_client, if_missing=True)
    proc = subprocess.run([str(VENV_BIN / "wxrunner"), "image", "build", "--if-missing"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == [settings.tenant_image, image_id]  # nothing rebuilt
    config = docker_client.images.get(settings.tenant_image).attrs["Config"]
    assert config["User"] == "1000:1000"
    assert config["Cmd"][0] == "/bin/sleep"
    out = docker_client.containers.run(
        settings.tenant_image,
        ["sh", "-c", "id -un; claude --version; git --version; socat -V | grep '^socat version'"],
        remove=True, network_mode="none", read_only=True, cap_drop=["ALL"],
    )
    version = settings.tenant_image.rsplit(":", 1)[1].split("-")[0]  # 2.1.332-git-egress
    assert out.decode().split("\n")[:2] == ["wx", f"{version} (Claude Code)"]
    assert out.decode().split("\n")[2].startswith("git version 2.")
    assert out.decode().split("\n")[3].startswith("socat version 1.")
