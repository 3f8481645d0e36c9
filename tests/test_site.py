"""``nbutils.reproduce.site`` and ``python -m nbutils site``: executed notebooks as HTML to read
without running them, and an index of every notebook, its figures and its claims."""

import base64
import html
import io
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402
import pytest  # noqa: E402

from nbutils.reproduce import catalog, cli, running, site  # noqa: E402

VIEW = site.WIDGET_VIEW


def _png() -> bytes:
    fig, ax = plt.subplots(figsize=(1, 1))
    ax.plot([0, 1])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()


PNG = _png()


def _model(name: str, **state) -> dict:
    return {"model_name": name, "model_module": "@jupyter-widgets/controls",
            "model_module_version": "2.0.0", "state": state}  # fmt: skip


def _view(model_id: str, text: str) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {VIEW: {"model_id": model_id, "version_major": 2, "version_minor": 0},
                     "text/plain": text}}  # fmt: skip


def executed_notebook() -> nbformat.NotebookNode:
    """An executed notebook as papermill writes it: a figure, a tqdm bar and an
    ``interactive`` whose state is in the metadata, and a widget whose state is not."""
    nb = nbformat.v4.new_notebook()
    figure = nbformat.v4.new_code_cell("plt.plot([0, 1]); plt.show()", execution_count=1)
    image = {"image/png": base64.b64encode(PNG).decode(), "text/plain": "<Figure>"}
    figure.outputs = [
        nbformat.from_dict({"output_type": "display_data", "metadata": {}, "data": image})
    ]
    bar = nbformat.v4.new_code_cell("for i in tqdm(range(3)): pass", execution_count=2)
    bar.outputs = [nbformat.from_dict(_view("bar", "fine-tuning:   0%| | 0/3"))]
    explorer = nbformat.v4.new_code_cell("geometry.explorer()", execution_count=3)
    explorer.outputs = [nbformat.from_dict(_view("interact", "interactive(...)"))]
    lost = nbformat.v4.new_code_cell("w.IntSlider()", execution_count=4)
    lost.outputs = [nbformat.from_dict(_view("gone", "IntSlider(value=0)"))]
    nb.cells = [nbformat.v4.new_markdown_cell("# 00 · A tour"), figure, bar, explorer, lost]
    state = {
        "bar": _model("HBoxModel", children=["IPY_MODEL_desc", "IPY_MODEL_prog", "IPY_MODEL_rt"]),
        "desc": _model("HTMLModel", value="fine-tuning target: 100%"),
        "prog": _model("FloatProgressModel", value=3.0, max=3.0, bar_style="success"),
        "rt": _model("HTMLModel", value=" 3/3 [00:01&lt;00:00]"),
        "interact": _model("VBoxModel", _dom_classes=["widget-interact"],
                           children=["IPY_MODEL_angle", "IPY_MODEL_out"]),  # fmt: skip
        "angle": _model("FloatSliderModel", description="angle °", value=100.0,
                        readout_format=".2f"),  # fmt: skip
        "out": _model("OutputModel", outputs=[
            {"output_type": "display_data", "metadata": {}, "data": image},
            {"output_type": "stream", "name": "stdout", "text": "outside Eq. 7: none\n"}]),
    }  # fmt: skip
    nb.metadata["widgets"] = {site.WIDGET_STATE: {"state": state, "version_major": 2,
                                                  "version_minor": 0}}  # fmt: skip
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    return nb


@pytest.fixture
def folders(tmp_path):
    """A build folder with 00_tour executed (the others not) and a figures folder with
    00's figure and sidecar and 01's first figure without its PNG."""
    build, figures = tmp_path / "build", tmp_path / "figures"
    build.mkdir()
    figures.mkdir()
    nbformat.write(executed_notebook(), build / "00_tour.ipynb")
    (figures / "tour_answer_loss.png").write_bytes(PNG)
    claims = {"rouge_forget": 0.977777, "memorized": True,
              "per_method": {"NGDiff": {"rouge": 0.02}}, "lrs": [0.1, 0.3]}  # fmt: skip
    provenance = {"seed": 0, "smoke": True, "git_commit": "0123456789abcdef",
                  "created": "2026-11-23T14:11:28+00:00", "wall_time_s": 8.1}  # fmt: skip
    sidecar = {"claims": claims, "provenance": provenance}
    (figures / "tour_answer_loss.json").write_text(json.dumps(sidecar))
    (figures / "fig2_geometry.json").write_text(json.dumps({"claims": {"share": 0.5}}))
    return build, figures, tmp_path / "site"


def test_index_lists_every_notebook_and_reports_the_missing_ones(folders):
    build, figures, out = folders
    report = site.build_site(build, figures, out)
    index = report.index.read_text()
    for entry in catalog.NOTEBOOKS.values():
        assert f'<section class="notebook" id="{entry.stem}">' in index
        assert html.escape(entry.reproduces) in index
        for figure in entry.figures:
            assert f"<h4>{figure}</h4>" in index
    assert list(report.pages) == ["00_tour"]
    assert '<a href="00_tour.html">00_tour</a>' in index
    assert set(report.missing_notebooks) == set(catalog.NOTEBOOKS) - {"00_tour"}
    assert "python -m nbutils run 02_pareto_sweep" in index
    assert "tour_answer_loss" not in report.missing_figures
    assert "fig2_geometry" in report.missing_figures  # a sidecar without its PNG
    assert (out / "figures" / "tour_answer_loss.png").read_bytes() == PNG
    assert 'src="figures/tour_answer_loss.png"' in index
    lines = report.lines()
    assert any(line.startswith("missing: 01_gradient_geometry was not executed") for line in lines)


def test_index_shows_each_figures_claims_as_a_table(folders):
    report = site.build_site(*folders)
    index = report.index.read_text()
    assert "<td>rouge_forget</td><td>0.9778</td>" in index
    assert "<td>memorized</td><td>true</td>" in index
    assert "<td>per_method.NGDiff.rouge</td><td>0.02</td>" in index
    assert "<td>lrs</td><td>[0.1, 0.3]</td>" in index
    assert "seed 0, smoke size, commit 0123456789, 2026-11-23, 8 s" in index
    assert "no sidecar lr_sensitivity_summary.json" in index


def test_scorecard_section_is_a_placeholder_until_the_scorecard_exists(folders):
    build, figures, out = folders
    assert "No scorecard yet" in site.build_site(build, figures, out).index.read_text()
    (figures / "scorecard.json").write_text(json.dumps({"holds": 3, "fails": 1}))
    index = site.build_site(build, figures, out).index.read_text()
    assert "No scorecard yet" not in index and "<td>holds</td><td>3</td>" in index
    (figures / "scorecard.md").write_text("| claim | verdict |\n|---|---|\n| Lemma 4 | holds |\n")
    index = site.build_site(build, figures, out).index.read_text()
    assert "<td>Lemma 4</td>" in index and "<td>holds</td><td>3</td>" not in index


def test_notebook_page_is_self_contained_with_widgets_drawn_from_saved_state(folders):
    report = site.build_site(*folders)
    page = report.pages["00_tour"].read_text()
    assert page.count('src="data:image/png;base64,') == 2  # the figure, the explorer's panel
    assert 'class="nbu-progress"' in page and "fine-tuning target: 100%" in page
    assert "width:100.0%" in page
    assert "angle °" in page and "<b>100.00</b>" in page and "outside Eq. 7: none" in page
    assert "(a widget: its state was not saved)" in page and "IntSlider(value=0)" not in page
    assert VIEW not in page and site.WIDGET_STATE not in page and "unpkg" not in page


def test_a_notebook_that_cannot_be_read_is_reported_not_a_crash(folders):
    build, figures, out = folders
    (build / "01_gradient_geometry.ipynb").write_text("{ not json")
    report = site.build_site(build, figures, out)
    assert "01_gradient_geometry" in report.failed and "00_tour" in report.pages
    assert "could not export" in report.index.read_text()


def test_cli_site_writes_the_index_and_names_what_is_missing(folders, capsys):
    build, figures, out = folders
    args = ["site", "--build", str(build), "--figures", str(figures), "--out", str(out)]
    assert cli.main(args) == 0
    captured = capsys.readouterr()
    assert f"1 notebook page(s) and the index: {out / 'index.html'}" in captured.out
    assert "missing: 08_vision_unlearning was not executed" in captured.err
    empty = build.parent / "empty"
    empty.mkdir()
    args = ["site", "--build", str(empty), "--figures", str(figures), "--out", str(out)]
    assert cli.main(args) == 1  # nothing executed: the index still lists every notebook
    assert (out / "index.html").exists()


def test_cli_site_names_a_folder_it_cannot_read_or_make(folders, capsys):
    """One line naming the path, exit 2, nothing written (no traceback)."""
    build, figures, out = folders
    blocker = build.parent / "a file"
    blocker.write_text("")
    cases = (
        (
            ["--build", str(build.parent / "none")],
            f"--build {build.parent / 'none'}: no such folder",
        ),
        (["--figures", str(blocker)], f"--figures {blocker}: no such folder"),
        (["--out", str(blocker / "site")], f"--out {blocker / 'site'}: cannot be made"),
        (["--out", str(blocker)], f"--out {blocker}: not a folder"),
    )
    for extra, message in cases:
        args = ["site", "--build", str(build), "--figures", str(figures), "--out", str(out)]
        assert cli.main([*args, *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.notebook
def test_papermill_runs_save_the_widget_state_the_site_draws(tmp_path):
    """``nbutils run``'s papermill options keep the widgets' state in the executed
    notebook, so a page shows the finished bar without a kernel."""
    import papermill as pm

    nb = nbformat.v4.new_notebook()
    source = "from tqdm.auto import tqdm\nfor i in tqdm(range(3), desc='steps'): pass"
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nbformat.write(nb, tmp_path / "in.ipynb")
    pm.execute_notebook(str(tmp_path / "in.ipynb"), str(tmp_path / "out.ipynb"),
                        **running.PAPERMILL_OPTIONS)  # fmt: skip
    executed = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert executed.metadata["widgets"][site.WIDGET_STATE]["state"]
    site.export_notebook(tmp_path / "out.ipynb", tmp_path / "out.html")
    page = (tmp_path / "out.html").read_text()
    assert 'class="nbu-progress"' in page and "steps: 100%" in page.replace("\u2007", " ")
