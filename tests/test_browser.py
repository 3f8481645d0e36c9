"""What a student sees: every notebook run in the real JupyterLab client, in headless
Chromium driven by Playwright, and the HTML pages that read without running.

JupyterLab starts from this Python on a loopback port with a random token; each notebook
is copied with ``smoke = True`` injected after its ``parameters`` cell, opened, run with
Run > Run All Cells and saved with File > Save Notebook. A notebook fails when a cell did
not run or raised, a figure cell shows no loaded image, a widget shows "Loading widget..."
(or renders as text), a progress bar fell back to text, or the kernel does not end idle;
the message names the cell (its place in ``notebooks/`` and its first line). Screenshots
go to ``build/browser/<stem>.png``. Skipped, with the reason, where Playwright or Chromium
is missing (``make install`` installs both where it can).
"""

import os
import time
from pathlib import Path

import labdriver as L
import nbformat
import pytest

from nbutils.core import paths
from nbutils.engine.methods import weights as method_weights
from nbutils.reproduce import catalog, site
from nbutils.studies import geometry

SKIP = L.skip_reason()
SHOTS = paths.REPO_DIR / "build" / "browser"
# Seconds per notebook at smoke size; generous for a busy 2-core machine.
TIMEOUT = float(os.environ.get("NBUTILS_BROWSER_TIMEOUT", 900))
EXPLORER = "geometry.plane.explorer()"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if SKIP:
        pytest.skip(SKIP)
    home = tmp_path_factory.mktemp("jupyterlab")
    (home / "root").mkdir()
    server = L.Lab(root=home / "root", home=home).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = L.launch_browser(playwright, lab.home / "chromium-profile")
        yield context
        context.close()


def _copy(lab, stem: str) -> str:
    relpath = f"notebooks/{stem}.ipynb"
    values = {"smoke": True, "out_dir": str(lab.home / "figures")}
    L.inject_parameters(paths.notebooks_dir() / f"{stem}.ipynb", lab.root / relpath, values)
    return relpath


# --------------------------------------------------------------------------- every notebook


# The site test reads the 00_tour that JupyterLab saved: under pytest-xdist (--dist
# loadgroup) both run on the same worker, so it need not run 00_tour a second time.
SITE_GROUP = pytest.mark.xdist_group("jupyterlab-00_tour")


@pytest.mark.browser
@pytest.mark.parametrize(
    "stem",
    [pytest.param(s, marks=SITE_GROUP) if s == "00_tour" else s for s in sorted(catalog.NOTEBOOKS)],
)
def test_notebook_runs_in_jupyterlab(stem, lab, browser):
    relpath = _copy(lab, stem)
    page = browser.new_page()
    try:
        result = L.run_notebook(page, lab, relpath, TIMEOUT, shot=SHOTS / f"{stem}.png")
        found = result.problems()
        if stem == "01_gradient_geometry" and not found:
            found += explorer_problems(page)
        if stem == "00_tour" and not found:
            found += L.reopen_problems(page, lab, relpath, result.saved)
    finally:
        page.close()
        lab.shutdown_kernels(relpath)
    print(f"{stem}: Run All Cells took {result.seconds:.0f} s")
    assert not found, f"{stem} in JupyterLab:\n  " + "\n  ".join(found)


# --------------------------------------------------------------------------- 01's explorer


def verdict_line(angle: float, log10_ratio: float) -> tuple[str, list[str]]:
    """The line the explorer must print, and the methods outside Eq. 7, computed here
    from ``engine.methods.weights`` and ``geometry.plane.in_green``."""
    ratio = 10.0**log10_ratio
    g_r, g_f = geometry.plane.pair_2d(angle, ratio)
    geo = geometry.plane.geometry_2d(g_r, g_f)
    outside = []
    for method in geometry.plane.FIG2_METHODS:
        w = method_weights(method, geo)
        if not geometry.plane.in_green(g_r, g_f, w.retain * g_r - w.forget * g_f):
            outside.append(method)
    line = (
        f"angle {angle:.0f}°, ||g_F||/||g_R|| = {ratio:.3g}: "
        f"outside Eq. 7: {', '.join(outside) if outside else 'none'}"
    )
    return line, outside


def test_the_explorer_verdicts_the_test_expects_are_those_of_the_paper():
    """The settings the browser moves the sliders to: GDiff(0.5) leaves Eq. 7 at 10° with
    ||g_F|| = 10 ||g_R|| (Fig. 2's failure case) and satisfies it at 170°, equal norms."""
    assert "GDiff-0.5" in verdict_line(10, 1.0)[1]
    assert verdict_line(170, 0.0)[1] == []
    assert "NGDiff" not in verdict_line(10, 1.0)[1]


def _set_slider(cell, label: str, value: str) -> None:
    """Type a value into a slider's readout, as a student can, and press Enter."""
    slider = cell.locator(".widget-slider").filter(
        has=cell.page.locator(".widget-label", has_text=label)
    )
    readout = slider.locator(".widget-readout")
    readout.click()
    readout.evaluate("(e, v) => { e.textContent = v; }", value)
    readout.press("Enter")


def explorer_problems(page, timeout_s: float = 180) -> list[str]:
    """Move 01's explorer sliders; the figure must be redrawn and the printed Eq. 7
    verdict must follow the new angle and ratio."""
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell").filter(has_text=EXPLORER)
    if cell.count() != 1:
        return [f"no single cell calling {EXPLORER} on the page ({cell.count()} found)"]
    found = []
    image = cell.locator(".jp-Cell-outputArea img")
    before = image.first.get_attribute("src") if image.count() else None
    moves = [("angle °", "10", (10, 0.5)), ("log10 ratio", "1", (10, 1.0)),
             ("angle °", "170", (170, 1.0)), ("log10 ratio", "0", (170, 0.0))]  # fmt: skip
    for label, typed, (angle, log10_ratio) in moves:
        expected, _ = verdict_line(angle, log10_ratio)
        _set_slider(cell, label, typed)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            text = cell.locator(".jp-Cell-outputArea").inner_text()
            src = image.first.get_attribute("src") if image.count() else None
            if expected in text and src and src != before:
                break
            time.sleep(0.5)
        else:
            shown = [t for t in text.splitlines() if "outside Eq. 7" in t]
            found.append(
                f"explorer after setting {label!r} to {typed}: expected {expected!r}, "
                f"shown {shown or text[-200:]!r}; figure "
                + ("redrawn" if src and src != before else "NOT redrawn")
            )
            break
        before = src
    return found


# --------------------------------------------------------------------------- the checker


def test_a_broken_cell_fails_the_browser_check_naming_the_cell(lab, browser):
    relpath = "fixtures/broken_notebook.ipynb"
    L.inject_parameters(
        Path(__file__).parent / "fixtures" / "broken_notebook.ipynb",
        lab.root / relpath,
        {"smoke": True},
    )
    page = browser.new_page()
    try:
        result = L.run_notebook(page, lab, relpath, 300)
    finally:
        page.close()
        lab.shutdown_kernels(relpath)
    found = result.problems()
    assert any(
        p.startswith("cell 4 ('raise ValueError(\"deliberately broken\")') raised ValueError")
        for p in found
    ), found
    assert any(p.startswith("cell 5 ('print(\"never runs\")') did not run") for p in found), found
    assert not any("cell 3" in p for p in found), found  # the figure cell before it is fine


def _page_cell(**changes) -> dict:
    dom = dict(kind="code", prompt="[1]:", images=[], images_loaded=False,
               loading_widget=False, widgets=0, hidden_outputs=0, stderr=[], error_text=[],
               plain=[], text="")  # fmt: skip
    return {**dom, **changes}


def _notebook(*cells) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for source, outputs in cells:
        cell = nbformat.v4.new_code_cell(source, execution_count=1)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    return nb


def test_the_checker_names_a_figure_cell_without_an_image():
    nb = _notebook(("fig, ax = plt.subplots()\nplt.show()", []), ("save_figure(fig, 'x')", []))
    found = L.problems(nb, [_page_cell(), _page_cell()])
    assert found == [
        "cell 1 ('fig, ax = plt.subplots()') shows no image: expected a figure (the kernel "
        "sent none); 0 img element(s), none loaded"
    ]
    loaded = [{"complete": True, "width": 640, "src": "..."}]
    assert L.problems(nb, [_page_cell(images=loaded, images_loaded=True), _page_cell()]) == []


def test_the_checker_names_widgets_that_do_not_render_and_text_progress_bars():
    view = {"output_type": "display_data", "metadata": {},
            "data": {L.WIDGET_VIEW: {"model_id": "abc", "version_major": 2, "version_minor": 0},
                     "text/plain": "HBox(children=(HTML(value=''),))"}}  # fmt: skip
    text_bar = {"output_type": "stream", "name": "stderr", "text": " 40%|####      | 4/10\n"}
    nb = _notebook(("for i in tqdm(x): pass", [view]), ("for i in tqdm(x): pass", [text_bar]))
    found = L.problems(
        nb,
        [_page_cell(loading_widget=True, plain=["HBox(children=(HTML(value=''),))"]),
         _page_cell()],
    )  # fmt: skip
    assert any("cell 1" in p and "Loading widget" in p for p in found), found
    assert any("cell 1" in p and "renders none" in p for p in found), found
    assert any("cell 1" in p and "widget as text" in p for p in found), found
    assert any("cell 2" in p and "text progress bar" in p for p in found), found
    # a rendered widget, or a finished bar that closed itself (hidden), is fine
    assert L.problems(_notebook(("t", [view])), [_page_cell(widgets=3)]) == []
    assert L.problems(_notebook(("t", [view])), [_page_cell(hidden_outputs=1)]) == []


def test_the_skip_reason_says_what_is_missing_and_how_to_get_it(monkeypatch):
    monkeypatch.setattr(L, "CHROMIUM", "/nonexistent/chromium")
    reason = L.skip_reason()
    if reason and "playwright" in reason:
        assert "make install" in reason
    else:
        assert reason.startswith("Chromium not found at /nonexistent/chromium")
        assert "apt-get install -y chromium" in reason and "\n" not in reason


# --------------------------------------------------------------------------- read without running


def _executed(nb_path: Path) -> bool:
    if not nb_path.exists():
        return False
    cells = nbformat.read(nb_path, as_version=4).cells
    return all(c.get("execution_count") for c in cells if c.cell_type == "code")


@pytest.mark.browser
@SITE_GROUP
def test_site_index_and_a_notebook_page_show_their_figures(lab, browser, tmp_path):
    """``nbutils.reproduce.site`` on the notebooks saved by JupyterLab above (00_tour is run here
    when it was not) and the committed figures: the index lists every notebook with all
    its figures loaded, and 00_tour's page shows its figure and its progress bars."""
    relpath = "notebooks/00_tour.ipynb"
    if not _executed(lab.root / relpath):
        _copy(lab, "00_tour")
        page = browser.new_page()
        try:
            L.run_notebook(page, lab, relpath, TIMEOUT)
        finally:
            page.close()
            lab.shutdown_kernels(relpath)
    report = site.build_site(lab.root / "notebooks", paths.REPO_DIR / "figures", tmp_path / "site")
    assert "00_tour" in report.pages and not report.missing_figures, report.lines()
    page = browser.new_page()
    try:
        page.goto(report.index.as_uri(), wait_until="load")
        loaded = dict(
            page.eval_on_selector_all(
                "img.thumb", "els => els.map(e => [e.alt, e.complete && e.naturalWidth > 0])"
            )
        )
        wanted = [f for e in catalog.NOTEBOOKS.values() for f in e.figures]
        assert {f: loaded.get(f, False) for f in wanted} == dict.fromkeys(wanted, True)
        for stem in catalog.NOTEBOOKS:
            assert page.locator(f'section[id="{stem}"]').count() == 1, stem
        assert page.locator("#scorecard").count() == 1
        page.click('a[href="00_tour.html"]')
        page.wait_for_load_state("load")
        assert page.url.endswith("00_tour.html")
        widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
        assert widths and all(w > 0 for w in widths), widths
        text = page.inner_text("body")
        assert "Loading widget" not in text and "model not found" not in text
        saved = nbformat.read(lab.root / relpath, as_version=4)
        bars = [
            o
            for c in saved.cells
            for o in c.get("outputs", [])
            if L.WIDGET_VIEW in o.get("data", {})
        ]  # noqa: E501
        if bars:  # the targets were trained in this run (not loaded from the cache)
            assert page.locator(".nbu-progress").count() >= 1, "bars drawn from saved state"
    finally:
        page.close()
