"""JupyterLab in a real browser: lab 00 runs from "Run All Cells" and its widgets render.

Starts JupyterLab on 127.0.0.1 (empty token, temporary config, settings, workspace
and root folder holding a copy of lab 00, the news feed turned off), drives Debian's
chromium through Playwright for Python (no browser download), runs every cell from
the Run menu, and checks the page: each code cell ran, no cell shows a traceback, a
widget rendered. The notebook saved by the browser is read back for errors too. A
screenshot lands in screenshots/ (git-ignored).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request

import nbformat
import pytest

import labkit.net
from tests.conftest import ROOT, require_tool

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(300)]

LAB00 = ROOT / "labs" / "00-setup" / "00-setup.ipynb"
SCREENSHOTS = ROOT / "screenshots"  # git-ignored
# selectors: the kernel status when idle; stream and error outputs (tracebacks render here)
IDLE = ".jp-Notebook-ExecutionIndicator[data-status='idle']"
STDERR = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"
# the status bar reads "No Kernel | Initializing", then "Python 3 (ipykernel) | Idle"
KERNEL_READY = """() => {
    const text = document.querySelector('.jp-StatusBar-Widget')?.textContent ?? '';
    return text.includes('| Idle') && !text.includes('No Kernel');
}"""
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def _wait_ready(url: str, proc: subprocess.Popen, limit: float = 90.0) -> bool:
    """True once JupyterLab answers; False if it exited first (e.g. its port was taken)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url + "api/status", timeout=2) as resp:
                if resp.status == 200:
                    return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"JupyterLab did not answer within {limit:.0f} s")


@pytest.fixture
def jupyterlab(tmp_path):
    """A JupyterLab server of our own on loopback; yields (base URL, notebook path)."""
    root = tmp_path / "root"
    (root / "00-setup").mkdir(parents=True)
    notebook = root / "00-setup" / LAB00.name
    shutil.copy2(LAB00, notebook)
    settings = tmp_path / "settings"
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = dict(os.environ,
               JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
               IPYTHONDIR=str(tmp_path / "ipython"))
    log = tmp_path / "jupyterlab.log"
    # free_port() closes its socket before JupyterLab binds: another process (a lab
    # server in a parallel test) may take the port in between; then try a new one
    for _attempt in range(3):
        port = labkit.net.free_port()
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               "--IdentityProvider.token=", "--ServerApp.password=",
               f"--ServerApp.root_dir={root}",
               f"--LabApp.user_settings_dir={settings}",
               f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}"]
        with log.open("w") as out:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}/"
        try:
            ready = _wait_ready(url, proc)
        except TimeoutError as exc:
            proc.kill()
            proc.wait()
            pytest.fail(f"{exc}:\n{log.read_text()[-3000:]}")
        if ready:
            break
        text = log.read_text()
        if "already in use" not in text and "is not available" not in text:
            pytest.fail(f"JupyterLab exited {proc.returncode}:\n{log.read_text()[-3000:]}")
    else:
        pytest.fail(f"JupyterLab found no free port in 3 tries:\n{log.read_text()[-3000:]}")
    try:
        yield url, notebook
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_lab00_run_all_in_chromium(jupyterlab):
    """Run All Cells in lab 00: every cell runs, none shows an error, a widget renders."""
    chromium = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    url, notebook = jupyterlab
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / "lab00-run-all.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium") or chromium,
                                    args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}lab/tree/00-setup/{notebook.name}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            # the kernel must be connected before Run All, or JupyterLab asks which kernel
            # to start (the toolbar's indicator reads idle before that: use the status bar)
            page.wait_for_function(KERNEL_READY, timeout=60_000)
            page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
            # exactly "Run All Cells" (the menu also has "Restart Kernel and Run All Cells...")
            page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
            # done when every code cell shows an execution count, or a cell failed
            # (Run All stops there) and the kernel is idle again
            page.wait_for_function(
                """() => {
                    const prompts = [...document.querySelectorAll(
                        '.jp-Notebook .jp-CodeCell .jp-InputArea-prompt')];
                    const done = prompts.length > 0
                        && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
                    const failed = [...document.querySelectorAll(STDERR)]
                        .some(o => o.textContent.includes('Traceback'));
                    const idle = document.querySelector(IDLE) !== null;
                    return (idle && (done || failed)) || document.querySelector('.jp-Dialog');
                }""".replace("STDERR", json.dumps(STDERR)).replace("IDLE", json.dumps(IDLE)),
                timeout=120_000,
            )
            dialogs = page.locator(".jp-Dialog")
            assert dialogs.count() == 0, f"JupyterLab asked: {dialogs.first.inner_text()[:300]}"
            tracebacks = page.locator(STDERR, has_text="Traceback")
            widgets = page.locator(".jp-OutputArea-output .jupyter-widgets")
            if tracebacks.count():
                tracebacks.first.scroll_into_view_if_needed()
            elif widgets.count():
                widgets.first.scroll_into_view_if_needed()
            page.screenshot(path=str(shot))
            assert tracebacks.count() == 0, tracebacks.first.inner_text()[:2000]
            assert widgets.count() and widgets.first.is_visible(), "no widget rendered"
            assert page.locator("text=Error displaying widget").count() == 0
            # save from the browser (the notebook's own Save command), then read it back
            # (wait for the file itself: the dirty mark can be clear before the save starts)
            before = notebook.stat().st_mtime_ns
            page.keyboard.press("Control+s")
            for _ in range(120):
                if notebook.stat().st_mtime_ns != before:
                    break
                page.wait_for_timeout(250)
            else:
                pytest.fail("JupyterLab did not save the notebook within 30 s of Ctrl+S")
            page.wait_for_function(
                "() => !document.querySelector('.jp-mod-current .jp-mod-dirty')", timeout=30_000)
        finally:
            browser.close()
    saved = nbformat.read(notebook, as_version=4)
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code), "the saved notebook has cells that did not run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for c in code for o in c.outputs), "no widget output in the saved notebook"
