"""Drive the real JupyterLab client in headless Chromium (Playwright) and check what a
student sees: every cell ran, no error, figures shown as images, progress bars as widgets.

Used by ``tests/test_browser.py``. The checks themselves (``problems``) are a pure
function of the notebook JupyterLab saved after Run All and of what the page showed, so
they are tested on a deliberately broken notebook too.
"""

from __future__ import annotations

import ast
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("NBUTILS_CHROMIUM", "/usr/bin/chromium")
# Chromium's own background connections are refused by a closed network and slow it down.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# The settings the test's throw-away JupyterLab user profile gets: every cell attached to
# the page (the default windowing leaves off-screen cells out of the DOM, so they could
# not be checked), the python3 kernel started without asking, no news toasts.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {
        "windowingMode": "none",
        "autoStartDefaultKernel": True,
    },
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}
# The project's own JupyterLab defaults (widget state saved with the notebook), as
# `make install` puts them into the venv.
APP_SETTINGS = REPO / "lab-settings"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
TEXT_PROGRESS = re.compile(r"IProgress not found|\d+%\|[^|\n]*\|")
WIDGET_REPR = re.compile(r"^\s*(HBox|VBox|interactive|FloatProgress|IntProgress)\(")


def skip_reason() -> str | None:
    """Why the browser test cannot run here (one line that says how to fix it), or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return (
            "playwright is not installed in this Python: run `make install` "
            "(or `pip install playwright`)"
        )
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (
            f"Chromium not found at {CHROMIUM}: `sudo apt-get install -y chromium` "
            "(`make install` does it when run as root), or set NBUTILS_CHROMIUM"
        )
    return None


# --------------------------------------------------------------------------- JupyterLab


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Lab:
    """A JupyterLab server from this Python on a loopback port with a random token,
    serving ``root``, with a throw-away user profile under ``home``."""

    root: Path
    home: Path
    port: int = field(default_factory=_free_port)
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> Lab:
        settings = self.home / "user-settings"
        for plugin, values in LAB_SETTINGS.items():
            path = settings / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
        # The kernels import this checkout's nbutils, whatever the venv has installed.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env.update(
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
        )
        cmd = [
            sys.executable, "-m", "jupyter", "lab", "--no-browser",
            f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            f"--LabApp.user_settings_dir={settings}",
            f"--LabApp.app_settings_dir={APP_SETTINGS}",
            f"--LabApp.workspaces_dir={self.home / 'workspaces'}",
            "--LabApp.extension_manager=readonly", "--LabApp.news_url=None",
        ]  # fmt: skip
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            cmd.append("--allow-root")
        self.log = open(self.home / "jupyterlab.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited at start; see {self.log.name}")
            try:
                self.api("GET", "/api/status")
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer in {timeout:.0f} s; see {self.log.name}")

    def api(self, method: str, path: str):
        request = urllib.request.Request(
            self.base + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
        return json.loads(body) if body else None

    def url(self, relpath: str, workspace: str) -> str:
        # A workspace of its own per notebook: nothing restored from an earlier page.
        return f"{self.base}/lab/workspaces/{workspace}/tree/{relpath}?token={self.token}"

    def sessions(self, relpath: str) -> list[dict]:
        return [s for s in self.api("GET", "/api/sessions") if s["path"] == relpath]

    def shutdown_kernels(self, relpath: str) -> None:
        for s in self.sessions(relpath):
            self.api("DELETE", f"/api/sessions/{s['id']}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.api("POST", "/api/shutdown")  # shuts its kernels down, then itself
            except (urllib.error.URLError, ConnectionError, OSError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()


def launch_browser(playwright, profile: Path):
    """Debian's Chromium, headless, with a fresh profile (Playwright's own browser
    download is not needed)."""
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        args=CHROMIUM_ARGS,
        headless=True,
        viewport={"width": 1400, "height": 1000},
    )


# --------------------------------------------------------------------------- notebooks


def inject_parameters(source: Path, dest: Path, values: dict) -> None:
    """Copy ``source`` to ``dest`` with a cell tagged ``injected-parameters`` setting
    ``values`` right after the ``parameters`` cell, as papermill does."""
    nb = nbformat.read(source, as_version=4)
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    at = tagged[0] + 1 if tagged else 0
    lines = ["# Parameters injected by the browser test"]
    lines += [f"{k} = {v!r}" for k, v in values.items()]
    cell = nbformat.v4.new_code_cell("\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(at, cell)
    dest.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest)


def cell_name(cells, index: int) -> str:
    """A cell of the opened copy named as in the source notebook: its 1-based place
    there (the injected cell is not counted) and its first line."""
    cell = cells[index]
    if "injected-parameters" in cell.metadata.get("tags", []):
        return f"the injected parameters cell (cell {index + 1} of the copy)"
    injected = [
        i for i, c in enumerate(cells) if "injected-parameters" in c.metadata.get("tags", [])
    ]
    place = index + 1 - sum(1 for i in injected if i < index)
    lines = cell.source.strip().splitlines()
    return f"cell {place} ({lines[0] if lines else ''!r})"


def figure_cells(cells) -> set[int]:
    """Cells that must show a figure, read from the source: a cell calling ``plt.show()``
    and the cell that assigns each figure a later ``save_figure(fig, ...)`` saves."""
    last_assigned: dict[str, int] = {}
    found = set()
    for i, c in enumerate(cells):
        if c.cell_type != "code":
            continue
        if re.search(r"\bplt\.show\(\)", c.source):
            found.add(i)
        try:
            tree = ast.parse(c.source)
        except SyntaxError:
            continue
        nodes = list(ast.walk(tree))
        for node in nodes:
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            last_assigned[name.id] = i
        for node in nodes:
            func = getattr(node, "func", None)
            called = getattr(func, "attr", getattr(func, "id", None))
            if called == "save_figure" and node.args and isinstance(node.args[0], ast.Name):
                if node.args[0].id in last_assigned:
                    found.add(last_assigned[node.args[0].id])
    return found


def _stream_text(outputs) -> str:
    """What the cell printed (a widget's own text/plain stand-in is not counted)."""
    return "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")


def problems(saved, page_cells: list[dict]) -> list[str]:
    """What a student would see wrong, one line per problem naming the cell.

    ``saved``: the notebook JupyterLab saved after Run All (nbformat node); ``page_cells``:
    per cell of the page, what ``PAGE_CELLS`` read from the DOM."""
    cells = saved.cells
    found = []
    if len(page_cells) != len(cells):
        found.append(f"the page shows {len(page_cells)} cells, the notebook has {len(cells)}")
        return found
    must_show_figure = figure_cells(cells)
    for i, (cell, dom) in enumerate(zip(cells, page_cells)):
        if cell.cell_type != "code":
            continue
        name = cell_name(cells, i)
        outputs = cell.get("outputs", [])
        errors = [o for o in outputs if o.get("output_type") == "error"]
        for o in errors:
            found.append(f"{name} raised {o.get('ename')}: {o.get('evalue')}")
        if not errors and dom["error_text"]:
            found.append(f"{name} shows an error: {dom['error_text'][0][:200]!r}")
        if not cell.get("execution_count") or not re.fullmatch(r"\[\d+\]:", dom["prompt"] or ""):
            if not errors:
                found.append(f"{name} did not run (prompt {dom['prompt']!r})")
            continue
        has_png = any("image/png" in o.get("data", {}) for o in outputs)
        if (has_png or i in must_show_figure) and not dom["images_loaded"]:
            what = "its figure" if has_png else "a figure (the kernel sent none)"
            found.append(
                f"{name} shows no image: expected {what}; "
                f"{len(dom['images'])} img element(s), none loaded"
            )
        widget_outputs = [o for o in outputs if WIDGET_VIEW in o.get("data", {})]
        if dom["loading_widget"]:
            found.append(
                f"{name} shows 'Loading widget...' or 'Error displaying widget' instead of "
                "its widget"
            )
        if widget_outputs and not (dom["widgets"] or dom["hidden_outputs"]):
            found.append(
                f"{name} sent {len(widget_outputs)} widget(s) but the page renders none "
                f"(text shown: {dom['plain'][:1]!r})"
            )
        if any(WIDGET_REPR.match(t) for t in dom["plain"]):
            found.append(f"{name} shows a widget as text: {dom['plain'][0][:120]!r}")
        if TEXT_PROGRESS.search(_stream_text(outputs)):
            found.append(f"{name} shows a text progress bar instead of a widget")
    return found


# --------------------------------------------------------------------------- the page

PAGE_CELLS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Notebook .jp-Cell')]
  .map(c => {
    const outputs = c.querySelector('.jp-OutputArea');
    const stderr = [...c.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
      .map(e => e.innerText);
    const images = [...c.querySelectorAll('.jp-OutputArea img')]
      .map(im => ({complete: im.complete, width: im.naturalWidth, src: im.src.slice(-64)}));
    return {
      kind: c.classList.contains('jp-CodeCell') ? 'code'
          : c.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
      prompt: (c.querySelector('.jp-InputArea-prompt')?.innerText || '').trim(),
      images: images,
      images_loaded: images.some(im => im.complete && im.width > 0),
      loading_widget: /Loading widget|Error displaying widget/.test(outputs?.innerText || ''),
      widgets: c.querySelectorAll('.jp-OutputArea .jupyter-widgets').length,
      hidden_outputs: c.querySelectorAll('.jp-OutputArea-output.lm-mod-hidden').length,
      stderr: stderr,
      error_text: stderr.filter(
        t => /Traceback \\(most recent call last\\)|^\\w*(Error|Exception)\\b/m.test(t)),
      plain: [...c.querySelectorAll('.jp-OutputArea-output[data-mime-type="text/plain"]')]
        .map(e => e.innerText.slice(0, 300)),
      text: (outputs?.innerText || '').slice(0, 4000),
    };
  })"""


def prompts(page) -> list[str]:
    return page.eval_on_selector_all(
        ".jp-NotebookPanel .jp-CodeCell .jp-InputArea-prompt",
        "els => els.map(e => e.innerText.trim())",
    )


def open_notebook(page, lab: Lab, relpath: str, workspace: str, timeout_s: float = 180) -> None:
    """Open a notebook and wait until its kernel has started and is idle (the page's
    indicator says idle before any kernel exists, so the server is asked too)."""
    page.goto(lab.url(relpath, workspace), wait_until="domcontentloaded")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout_s * 1000)
    deadline = time.monotonic() + timeout_s
    while not any(s["kernel"]["execution_state"] == "idle" for s in lab.sessions(relpath)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no idle kernel for {relpath} after {timeout_s:.0f} s")
        time.sleep(0.5)
    wait_kernel_idle(page, timeout_s)
    page.wait_for_selector(
        '.jp-NotebookPanel .jp-KernelStatus, .jp-NotebookPanel [data-jp-item-name="kernelName"]',
        state="attached",
        timeout=timeout_s * 1000,
    )
    time.sleep(1.0)  # the page connects to the kernel after the server reports it


def wait_kernel_idle(page, timeout_s: float) -> None:
    page.wait_for_selector(
        '.jp-NotebookPanel .jp-Notebook-ExecutionIndicator[data-status="idle"]',
        timeout=timeout_s * 1000,
    )


def menu(page, top: str, item: str) -> None:
    """Click a main-menu entry, as a student does (``Run`` > ``Run All Cells``)."""
    page.click(f'.lm-MenuBar-itemLabel:text-is("{top}")')
    page.click(f'.lm-Menu-itemLabel:text-is("{item}")')


def run_all(page, timeout_s: float, poll_s: float = 1.0) -> float:
    """Run > Run All Cells; wait until no cell is queued or running and the kernel is idle
    (after an error JupyterLab stops: the cells below keep an empty prompt). Seconds."""
    start = time.monotonic()
    menu(page, "Run", "Run All Cells")
    deadline = start + timeout_s
    settled = 0
    while time.monotonic() < deadline:
        time.sleep(poll_s)
        status = page.get_attribute(
            ".jp-NotebookPanel .jp-Notebook-ExecutionIndicator", "data-status"
        )
        busy = any(p == "[*]:" for p in prompts(page))
        settled = settled + 1 if (status == "idle" and not busy) else 0
        if settled >= 3:
            return time.monotonic() - start
    running = page.evaluate(RUNNING_CELLS)
    raise TimeoutError(
        f"Run All Cells still running after {timeout_s:.0f} s; running or queued: "
        + ("; ".join(running[:3]) or "none (the kernel is busy)")
    )


RUNNING_CELLS = """() => [...document.querySelectorAll('.jp-NotebookPanel .jp-Cell')]
  .map((c, i) => [i, c])
  .filter(([i, c]) => (c.querySelector('.jp-InputArea-prompt')?.innerText || '').includes('*'))
  .map(([i, c]) => `cell ${i + 1} of the copy (${JSON.stringify(
      (c.querySelector('.cm-line')?.innerText || '').trim())})`)"""


def save(page, path: Path, timeout_s: float = 60) -> nbformat.NotebookNode:
    """File > Save Notebook; wait until the file on disk is the saved one; read it."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    menu(page, "File", "Save Notebook")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        dirty = page.query_selector(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")
        if path.stat().st_mtime_ns != before and not dirty:
            time.sleep(0.3)
            return nbformat.read(path, as_version=4)
        time.sleep(0.3)
    raise TimeoutError(f"the notebook was not saved to {path} in {timeout_s:.0f} s")


def screenshot(page, path: Path, max_height: int = 16000) -> None:
    """The whole notebook in one image: the page is made as tall as the notebook."""
    path.parent.mkdir(parents=True, exist_ok=True)
    height = page.evaluate(
        "() => { const o = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');"
        " if (!o) return document.body.scrollHeight; o.scrollTop = 0; return o.scrollHeight; }"
    )
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(max_height, height + 200)})
    page.evaluate(
        "() => { const o = document.querySelector('.jp-NotebookPanel .jp-WindowedPanel-outer');"
        " if (o) o.scrollTop = 0; }"
    )
    time.sleep(1.0)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size(size)


@dataclass
class Result:
    saved: nbformat.NotebookNode
    page_cells: list[dict]
    seconds: float
    kernel_states: list[str]

    def problems(self) -> list[str]:
        found = problems(self.saved, self.page_cells)
        if any(state != "idle" for state in self.kernel_states):
            found.append(f"the kernel did not end idle: {self.kernel_states}")
        return found


def run_notebook(page, lab: Lab, relpath: str, timeout_s: float, shot: Path | None = None):
    """Open ``relpath`` (under the lab's root) in a fresh workspace, Run All Cells, save,
    read what the page shows; a screenshot to ``shot``. The kernel is left running."""
    workspace = re.sub(r"\W", "-", relpath)
    open_notebook(page, lab, relpath, workspace)
    seconds = run_all(page, timeout_s)
    saved = save(page, lab.root / relpath)
    cells = page.evaluate(PAGE_CELLS)
    states = [s["kernel"]["execution_state"] for s in lab.sessions(relpath)]
    if shot is not None:
        screenshot(page, shot)
    return Result(saved, cells, seconds, states)


def reopen_problems(page, lab: Lab, relpath: str, saved, timeout_s: float = 120) -> list[str]:
    """Open a saved notebook again after its kernel was shut down (as a student does the
    next day): every widget it showed must render again from the saved widget state."""
    lab.shutdown_kernels(relpath)
    page.goto(lab.url(relpath, re.sub(r"\W", "-", relpath) + "-reopened"))
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=timeout_s * 1000)
    expected = [
        i
        for i, c in enumerate(saved.cells)
        if any(WIDGET_VIEW in o.get("data", {}) for o in c.get("outputs", []))
    ]
    deadline = time.monotonic() + timeout_s
    while True:
        cells = page.evaluate(PAGE_CELLS)
        waiting = [i for i in expected if not cells[i]["widgets"] or cells[i]["loading_widget"]]
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    return [
        f"reopened, {cell_name(saved.cells, i)} shows "
        + (repr(cells[i]["text"][:120]) if cells[i]["text"] else "nothing")
        + " instead of its widget (widget state not saved?)"
        for i in waiting
    ]


def copy_fixture(source: Path, root: Path, relpath: str) -> None:
    (root / relpath).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, root / relpath)
