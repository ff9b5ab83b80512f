"""From a zip of a WinDev project to a downloaded converted tree, through the UI alone, in
Debian's chromium against the real stack (the Docker executor, claude's own Write and Edit
tools against the simulator's #sim:write): drop the zip, browse and read a Windows-1252
source, ask for a conversion in a hidden tab (a browser notification when it ends), see the
diff, download the result."""

from __future__ import annotations

import base64
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

TURN_TIMEOUT_MS = 120_000
WINDEV = "PROCEDURE CalculaTotal()\r\n// Cálculo do preço com ação\r\nRENVOYER 0\r\n"
NOTES = "# Notes of the ERP\nline two\n"

# Notifications as the page sees them: granted, and recorded instead of shown.
_FAKE_NOTIFICATION = """
window.__notes = [];
window.Notification = Object.assign(function (title, options) {
  window.__notes.push([title, (options || {}).body || ""]);
}, { permission: "granted", requestPermission: async () => "granted" });
"""
_HIDE = """hidden => {
  Object.defineProperty(document, "hidden", { get: () => hidden, configurable: true });
  document.dispatchEvent(new Event("visibilitychange"));
}"""
_DROP = """([name, b64]) => {
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const transfer = new DataTransfer();
  transfer.items.add(new File([bytes], name, { type: "application/zip" }));
  return transfer;
}"""


def _project_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Projeto/WIN_Vendas.wdw", WINDEV.encode("cp1252"))
        archive.writestr("notes.md", NOTES)
    return buf.getvalue()


def test_upload_convert_see_diff_and_download(page: Any, stack: Stack, tmp_path: Path) -> None:
    project = stack.project("ERP Vendas")
    page.add_init_script(_FAKE_NOTIFICATION)
    page.goto(f"{stack.frontend}/projects/{project}")
    page.wait_for_selector('[data-testid="connection"][data-state="open"]')

    # drop the project's zip onto the workspace: progress, then the tree
    transfer = page.evaluate_handle(_DROP, ["erp.zip", base64.b64encode(_project_zip()).decode()])
    page.dispatch_event('[data-testid="dropzone"]', "dragover", {"dataTransfer": transfer})
    page.dispatch_event('[data-testid="dropzone"]', "drop", {"dataTransfer": transfer})
    page.wait_for_selector('[data-testid="upload-status"][data-state="done"]')
    assert page.locator('[data-testid="upload-progress"]').get_attribute("value") == "1"
    page.wait_for_selector('[data-testid="tree-file"][data-path="Projeto/WIN_Vendas.wdw"]')
    stack.shot(page, "1-uploaded")

    # the Windows-1252 source reads correctly
    page.click('[data-testid="tree-file"][data-path="Projeto/WIN_Vendas.wdw"]')
    viewer = page.locator('[data-testid="file-viewer"]')
    viewer.locator('[data-testid="file-content"]').wait_for()
    assert "Cálculo do preço com ação" in viewer.inner_text() and "cp1252" in viewer.inner_text()

    # a conversion, while the tab is hidden
    page.select_option('[data-testid="context-select"]', "conversion")
    page.fill('[data-testid="message-input"]', "Convert notes.md to Python #sim:write")
    page.click('[data-testid="send-button"]')
    page.evaluate(_HIDE, True)
    turn = page.locator('[data-testid="turn"]').nth(0)
    turn.and_(page.locator('[data-status="done"]')).wait_for(timeout=TURN_TIMEOUT_MS)
    page.wait_for_function("window.__notes.length === 1")
    title, body = page.evaluate("window.__notes[0]")
    assert title == "Claude finished" and "Convert notes.md" in body and "2 file(s)" in body
    page.evaluate(_HIDE, False)
    assert [c.get_attribute("data-tool") for c in turn.locator('[data-testid="tool-card"]').all()
            ] == ["Read", "Write", "Edit", "Edit"]

    # the turn's changes and their diff
    toggle = turn.locator('[data-testid="changes-toggle"]')
    assert "2 files" in toggle.inner_text()
    toggle.click()
    turn.locator('[data-testid="diff"]').wait_for()
    statuses = {f.get_attribute("data-path"): f.get_attribute("data-status")
                for f in turn.locator('[data-testid="changed-file"]').all()}
    assert statuses == {"converted/notes.py": "added", "notes.md": "modified"}
    diff = turn.locator('[data-testid="diff"]').inner_text()
    assert "Ported: every procedure" in diff and "(converted: converted/notes.py)" in diff
    page.wait_for_selector('[data-testid="tree-file"][data-path="converted/notes.py"]')
    stack.shot(page, "2-diff")

    # download the converted tree
    with page.expect_download() as download_info:
        page.click('[data-testid="download-button"]')
    saved = tmp_path / "result.zip"
    download_info.value.save_as(saved)
    with zipfile.ZipFile(saved) as result:
        files = {name: result.read(name) for name in result.namelist() if not name.endswith("/")}
    assert set(files) == {"Projeto/WIN_Vendas.wdw", "notes.md", "converted/notes.py"}
    assert files["Projeto/WIN_Vendas.wdw"] == WINDEV.encode("cp1252")
    assert b"# Ported: every procedure" in files["converted/notes.py"]
    assert files["notes.md"].startswith(b"# Notes of the ERP (converted: converted/notes.py)")


def test_refused_upload_says_which_entry(page: Any, stack: Stack) -> None:
    project = stack.project()
    page.goto(f"{stack.frontend}/projects/{project}")
    page.wait_for_selector('[data-testid="connection"][data-state="open"]')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("ok.txt", "fine")
        archive.writestr("../../escape.txt", "evil")
    page.set_input_files('[data-testid="upload-input"]', files=[
        {"name": "bad.zip", "mimeType": "application/zip", "buffer": buf.getvalue()}])
    status = page.locator('[data-testid="upload-status"][data-state="error"]')
    status.wait_for()
    assert "../../escape.txt" in status.inner_text()
    assert page.locator('[data-testid="tree-file"]').count() == 0
    stack.shot(page, "1-refused")
