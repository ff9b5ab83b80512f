"""Checking uploads (app/uploads.py): every hostile entry kind refused by name, names and
bytes kept, the plain tar written out, the limits."""

from __future__ import annotations

import io
import stat
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest

from app.errors import BadRequest
from app.tarstream import check_entry_path
from app.uploads import UploadLimits, kind_of, plan_upload

LIMITS = UploadLimits(max_unpacked_bytes=1 << 20, max_files=10, max_path_length=60)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # a duplicate name is one of the cases
        for info, data in entries:
            archive.writestr(info, data)
    return buf.getvalue()


def _plan(tmp_path: Path, name: str, data: bytes, target: str | None = None):  # type: ignore[no-untyped-def]
    return plan_upload(_write(tmp_path, name, data), filename=name, target=target, limits=LIMITS)


def _untar(plan) -> dict[str, tuple[str, bytes, int]]:  # type: ignore[no-untyped-def]
    with tarfile.open(fileobj=io.BytesIO(b"".join(plan.tar_chunks()))) as archive:
        return {m.name: ("dir" if m.isdir() else "file",
                         b"" if m.isdir() else archive.extractfile(m).read(), m.uid)  # type: ignore[union-attr]
                for m in archive.getmembers()}


@pytest.mark.parametrize(("raw", "clean"), [
    ("a/b.txt", "a/b.txt"), ("./a//b/", "a/b"), ("dir\\file.wdw", "dir/file.wdw"),
    ("Relatório.wdr", "Relatório.wdr")])
def test_entry_paths_normalised(raw: str, clean: str) -> None:
    assert check_entry_path(raw, max_length=100) == clean


@pytest.mark.parametrize("raw", ["../x", "a/../../x", "/etc/passwd", "..\\x", "a\\..\\..\\x",
                                 "C:/x", "c:x", "a\x00b", "a\nb", "", "./", "x" * 101])
def test_entry_paths_refused(raw: str) -> None:
    with pytest.raises(BadRequest):
        check_entry_path(raw, max_length=100)


def test_zip_plan_keeps_bytes_makes_parents_and_owns_them(tmp_path: Path) -> None:
    cp1252 = "Ação".encode("cp1252")
    plan = _plan(tmp_path, "p.zip", _zip([("Projeto/Telas/WIN.wdw", cp1252),
                                         ("Projeto\\Leia.txt", b"ok")]))
    assert (plan.files, plan.total_bytes) == (2, len(cp1252) + 2)
    assert _untar(plan) == {
        "Projeto": ("dir", b"", 1000), "Projeto/Telas": ("dir", b"", 1000),
        "Projeto/Telas/WIN.wdw": ("file", cp1252, 1000), "Projeto/Leia.txt": ("file", b"ok", 1000)}


def test_zip_names_without_the_utf8_flag(tmp_path: Path) -> None:
    # UTF-8 bytes with the flag unset (many tools), and cp437 ones (Windows' own zip)
    utf8 = _zip([("RelatXXrio.wdr", b"1")]).replace(b"RelatXXrio", "Relatório".encode())
    assert [e.path for e in _plan(tmp_path, "p.zip", utf8).entries] == ["Relatório.wdr"]
    oem = _zip([("RelatXrio.wdr", b"1")]).replace(b"RelatXrio", "Relatório".encode("cp437"))
    assert [e.path for e in _plan(tmp_path, "q.zip", oem).entries] == ["Relatório.wdr"]


def test_tar_gz_and_a_target_folder(tmp_path: Path) -> None:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as archive:
        info = tarfile.TarInfo("run.sh")
        info.size, info.mode = 3, 0o755
        archive.addfile(info, io.BytesIO(b"#!x"))
    plan = _plan(tmp_path, "a.tgz", buf.getvalue(), target="tools/")
    with tarfile.open(fileobj=io.BytesIO(b"".join(plan.tar_chunks()))) as out:
        member = out.getmember("tools/run.sh")
        assert member.mode == 0o755 and out.extractfile(member).read() == b"#!x"  # type: ignore[union-attr]


def test_single_file_at_a_path(tmp_path: Path) -> None:
    plan = _plan(tmp_path, "whatever.bin", b"\0\1", target="data/x.bin")
    assert kind_of("whatever.bin") == "file" and _untar(plan)["data/x.bin"][1] == b"\0\1"


def _link_zip(mode: int) -> bytes:
    info = zipfile.ZipInfo("bad")
    info.create_system, info.external_attr = 3, mode << 16
    return _zip([("ok.txt", b"1"), (info, b"/etc/passwd")])


def _tar(kind: bytes, name: str = "bad") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as archive:
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = "/etc/passwd"
        archive.addfile(info)
    return buf.getvalue()


@pytest.mark.parametrize(("name", "data", "said"), [
    ("a.zip", _zip([("ok.txt", b"1"), ("../../x", b"2")]), "escape"),
    ("a.zip", _zip([("/abs", b"2")]), "absolute"),
    ("a.zip", _zip([("D:\\win", b"2")]), "absolute"),
    ("a.zip", _link_zip(stat.S_IFLNK | 0o777), "symbolic link"),
    ("a.zip", _link_zip(stat.S_IFBLK | 0o600), "device"),
    ("a.zip", _zip([("x", b"1"), ("x", b"2")]), "twice"),
    ("a.zip", _zip([("x", b"1"), ("x/y", b"2")]), "is a file"),
    ("a.zip", _zip([(f"{i}", b"") for i in range(11)]), "files"),
    ("a.zip", _zip([("big", b"\0" * ((1 << 20) + 1))]), "unpacks"),
    ("a.zip", _zip([("d/" * 40 + "x", b"")]), "too long"),
    ("a.zip", b"not a zip", "zip"),
    ("a.zip", _zip([]), "empty"),
    ("a.tar", _tar(tarfile.SYMTYPE), "symbolic"),
    ("a.tar", _tar(tarfile.LNKTYPE), "hard"),
    ("a.tar", _tar(tarfile.CHRTYPE), "device"),
    ("a.tar", _tar(tarfile.FIFOTYPE), "device"),
    ("a.tar.gz", b"\x1f\x8bnot gzip", "tar"),
])
def test_hostile_uploads_refused(tmp_path: Path, name: str, data: bytes, said: str) -> None:
    with pytest.raises(BadRequest) as refused:
        _plan(tmp_path, name, data)
    assert said in refused.value.message


def test_a_lying_zip_entry_is_found_in_the_check(tmp_path: Path) -> None:
    data = bytearray(_zip([("a.txt", b"hello world" * 100)]))
    data[data.index(b"a.txt") + 5 + 10] ^= 0xFF  # corrupt the compressed bytes
    with pytest.raises(BadRequest):
        _plan(tmp_path, "a.zip", bytes(data))
