"""Read without running: the executed notebooks as self-contained HTML, with an index.

    python -m nbutils site [--build DIR] [--figures DIR] [--out DIR]

Each executed notebook ``build/<stem>.ipynb`` becomes ``<out>/<stem>.html`` (nbconvert's
lab template, images embedded). Widgets are drawn from the widget state saved in the
notebook's metadata (papermill saves it; JupyterLab does when "Save Jupyter widget
state in notebooks" is on) as plain HTML: a progress bar as a bar with its text, an
``interactive`` as its slider values and the output it last showed. The page needs no
kernel and no network for them (live widgets would need both). ``<out>/index.html``
lists every notebook of the catalog, what it reproduces, its figures (PNG copies in
``<out>/figures/``) and the claims in each figure's JSON sidecar, and the scorecard
once ``figures/scorecard.md`` or ``scorecard.json`` exists. A notebook that was not
executed, or a figure not written, is listed as missing, never an error.
"""

from __future__ import annotations

import copy
import html
import json
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from . import catalog

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
BAR_COLORS = {"success": "#4caf50", "danger": "#e53935", "warning": "#fb8c00", "info": "#1e88e5"}
OPEN_CLAIMS = 12  # a claims table with at most this many rows is shown unfolded


@dataclass
class SiteReport:
    out: Path
    index: Path
    pages: dict[str, Path] = field(default_factory=dict)  # stem -> HTML page
    missing_notebooks: dict[str, Path] = field(default_factory=dict)  # stem -> expected .ipynb
    missing_figures: dict[str, Path] = field(default_factory=dict)  # figure -> expected .png
    failed: dict[str, str] = field(default_factory=dict)  # stem -> why it could not export

    def lines(self) -> list[str]:
        out = [f"{len(self.pages)} notebook page(s) and the index: {self.index}"]
        out += [
            f"missing: {stem} was not executed ({path} not found); "
            f"run `python -m nbutils run {stem}`"
            for stem, path in self.missing_notebooks.items()
        ]
        out += [f"failed: {stem}: {why}" for stem, why in self.failed.items()]
        out += [f"missing figure: {name} ({path})" for name, path in self.missing_figures.items()]
        return out


# --------------------------------------------------------------------------- widgets


def _e(value) -> str:
    return html.escape(str(value))


def render_output(output: dict) -> str:
    """One notebook output (as stored in a notebook or an Output widget) as HTML."""
    kind = output.get("output_type")
    if kind == "stream":
        return f'<pre class="nbu-stream">{_e(ANSI.sub("", output.get("text", "")))}</pre>'
    if kind == "error":
        trace = ANSI.sub("", "\n".join(output.get("traceback", [])))
        return f'<pre class="nbu-error">{_e(trace)}</pre>'
    data = output.get("data", {})
    if "image/png" in data:
        png = (
            "".join(data["image/png"]) if isinstance(data["image/png"], list) else data["image/png"]
        )
        return f'<img alt="figure" src="data:image/png;base64,{png.strip()}">'
    if "text/html" in data:
        value = data["text/html"]
        return "".join(value) if isinstance(value, list) else value
    if "text/plain" in data:
        value = data["text/plain"]
        return f"<pre>{_e(''.join(value) if isinstance(value, list) else value)}</pre>"
    return ""


def render_widget(model_id: str, state: dict, depth: int = 0) -> str:
    """A saved widget as static HTML from ``state`` (the notebook's widget-state
    ``state`` mapping): boxes, progress bars, HTML and labels, sliders and other value
    widgets (their description and value), Output widgets (their outputs)."""
    model = state.get(model_id)
    if model is None or depth > 20:
        return ""
    name = model.get("model_name", "")
    s = model.get("state", {})
    label = (
        f"<span class='nbu-label'>{_e(s['description'])}</span> " if s.get("description") else ""
    )
    if "children" in s:
        children = [c.removeprefix("IPY_MODEL_") for c in s["children"]]
        inner = "".join(render_widget(c, state, depth + 1) for c in children)
        direction = "row" if name == "HBoxModel" else "column"
        return f'<div class="nbu-box" style="flex-direction:{direction}">{inner}</div>'
    if name in ("FloatProgressModel", "IntProgressModel"):
        low, high, value = s.get("min", 0), s.get("max", 100), s.get("value", 0)
        share = (value - low) / (high - low) if high != low else 0.0
        color = BAR_COLORS.get(s.get("bar_style") or "", BAR_COLORS["info"])
        return (
            f'{label}<span class="nbu-progress" title="{_e(value)} / {_e(high)}">'
            f'<span style="width:{100 * min(max(share, 0.0), 1.0):.1f}%;background:{color}">'
            "</span></span>"
        )
    if name == "HTMLModel":
        return f'{label}<span class="nbu-html">{s.get("value", "")}</span>'
    if name == "OutputModel":
        return (
            '<div class="nbu-output">'
            + "".join(map(render_output, s.get("outputs", [])))
            + "</div>"
        )
    if "value" in s:
        value = s["value"]
        if isinstance(value, float):
            try:
                value = format(value, s.get("readout_format") or ".2f")
            except ValueError:
                pass
        return f'<span class="nbu-value">{label}<b>{_e(value)}</b></span>'
    return label


def static_widgets(nb):
    """A copy of ``nb`` whose widget outputs are static HTML drawn from its saved
    widget state; the state itself is dropped from the copy (nothing left to load).
    A widget whose state was not saved (a progress bar that closed itself in JupyterLab,
    or a notebook saved without widget state) is named as such."""
    nb = copy.deepcopy(nb)
    widgets = nb.metadata.pop("widgets", None) or {}
    state = widgets.get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                continue
            model_id = data.pop(WIDGET_VIEW).get("model_id", "")
            if model_id in state:
                data["text/html"] = (
                    f'<div class="nbu-widget">{render_widget(model_id, state)}</div>'
                )
            else:  # its text stand-in would be stale (a progress bar's says 0%)
                data["text/html"] = '<p class="nbu-missing">(a widget: its state was not saved)</p>'
    return nb


WIDGET_CSS = """
.nbu-box { display: flex; gap: 0.6em; align-items: center; flex-wrap: wrap; }
.nbu-box[style*="column"] { align-items: flex-start; }
.nbu-progress { display: inline-block; width: 18em; height: 1.1em; background: #e0e0e0;
  vertical-align: middle; }
.nbu-progress > span { display: block; height: 100%; }
.nbu-label { color: #555; }
.nbu-output pre, .nbu-stream { margin: 0.2em 0; white-space: pre-wrap;
  font-family: var(--jp-code-font-family, monospace); font-size: var(--jp-code-font-size, 13px); }
.nbu-missing { color: #888; font-size: 0.85em; margin: 0.2em 0; }
.nbu-error { background: #fdecea; }
"""


# --------------------------------------------------------------------------- pages


def export_notebook(source: Path, dest: Path) -> None:
    """One executed notebook as a self-contained HTML page (figures embedded as data)."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = static_widgets(nbformat.read(source, as_version=4))
    quiet = logging.getLogger("nbutils.site.nbconvert")  # not one warning per figure
    quiet.setLevel(logging.ERROR)  # without alt text (nbconvert's accessibility check)
    exporter = HTMLExporter(template_name="lab", embed_images=True, log=quiet)
    body, _ = exporter.from_notebook_node(
        nb, resources={"metadata": {"name": source.stem, "path": str(source.parent)}}
    )
    body = body.replace("</head>", f"<style>{WIDGET_CSS}</style>\n</head>", 1)
    dest.write_text(body, encoding="utf-8")


def _number(value) -> str:
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def flatten_claims(claims, prefix: str = "") -> list[tuple[str, str]]:
    """A sidecar's ``claims`` as (dotted key, formatted value) rows; a list of plain
    values stays on one row."""
    if isinstance(claims, dict):
        rows = []
        for key, value in claims.items():
            rows += flatten_claims(value, f"{prefix}{key}.")
        return rows
    key = prefix.rstrip(".")
    if isinstance(claims, list):
        if all(not isinstance(v, (dict, list)) for v in claims):
            shown = ", ".join(map(_number, claims[:8]))
            more = f", … ({len(claims)} values)" if len(claims) > 8 else ""
            return [(key, f"[{shown}{more}]")]
        rows = []
        for i, value in enumerate(claims):
            rows += flatten_claims(value, f"{prefix}{i}.")
        return rows
    return [(key, _number(claims))]


def _claims_table(claims) -> str:
    rows = flatten_claims(claims or {})
    if not rows:
        return '<p class="none">no claims recorded</p>'
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    opened = " open" if len(rows) <= OPEN_CLAIMS else ""
    return (
        f"<details{opened}><summary>claims ({len(rows)})</summary>"
        f'<table class="claims">{body}</table></details>'
    )


def _provenance(sidecar: dict) -> str:
    p = sidecar.get("provenance", {})
    parts = [
        f"seed {p['seed']}" if "seed" in p else "",
        "smoke size" if p.get("smoke") else "",
        f"commit {str(p['git_commit'])[:10]}" if p.get("git_commit") else "",
        str(p.get("created", ""))[:10],
        f"{p['wall_time_s']:.0f} s" if isinstance(p.get("wall_time_s"), (int, float)) else "",
    ]
    return ", ".join(x for x in parts if x)


def _figure_block(name: str, figures: Path, out: Path, report: SiteReport) -> str:
    png, sidecar_path = figures / f"{name}.png", figures / f"{name}.json"
    if png.exists():
        (out / "figures").mkdir(exist_ok=True)
        shutil.copyfile(png, out / "figures" / png.name)
        image = (
            f'<a href="figures/{_e(png.name)}"><img class="thumb" alt="{_e(name)}" '
            f'src="figures/{_e(png.name)}"></a>'
        )
    else:
        report.missing_figures[name] = png
        image = f'<p class="missing">missing: {_e(png)}</p>'
    try:
        sidecar = json.loads(sidecar_path.read_text())
    except (OSError, ValueError):
        sidecar = None
    claims = (
        _claims_table(sidecar.get("claims"))
        if sidecar is not None
        else f'<p class="missing">no sidecar {_e(sidecar_path.name)}</p>'
    )
    note = f'<p class="prov">{_e(_provenance(sidecar))}</p>' if sidecar else ""
    return f'<div class="figure"><h4>{_e(name)}</h4>{image}{note}{claims}</div>'


def _scorecard(figures: Path, out: Path) -> str:
    md, js, png = (figures / f"scorecard.{ext}" for ext in ("md", "json", "png"))
    parts = []
    if png.exists():
        (out / "figures").mkdir(exist_ok=True)
        shutil.copyfile(png, out / "figures" / png.name)
        parts.append(f'<img class="scorecard" alt="scorecard" src="figures/{png.name}">')
    if md.exists():
        import mistune

        parts.append(mistune.html(md.read_text()))
    elif js.exists():
        try:
            parts.append(_claims_table(json.loads(js.read_text())))
        except ValueError as err:
            parts.append(f'<p class="missing">{_e(js.name)} is not JSON: {_e(err)}</p>')
    if not parts:
        return (
            '<p class="none">No scorecard yet: it appears here once '
            f"<code>{_e(md)}</code> or <code>{_e(js.name)}</code> exists.</p>"
        )
    return "".join(parts)


INDEX_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 78em; padding: 0 1em;
  color: #222; }
.notebook { border-top: 1px solid #ccc; padding: 0.6em 0 1em; }
.notebook h3 { margin: 0.4em 0 0.2em; }
.figures { display: flex; flex-wrap: wrap; gap: 1.2em; }
.figure { width: 24em; }
.figure h4 { margin: 0.4em 0; font-family: monospace; }
img.thumb { width: 24em; border: 1px solid #ddd; }
img.scorecard { max-width: 100%; }
table.claims { border-collapse: collapse; font-size: 0.8em; }
table.claims td { border-bottom: 1px solid #eee; padding: 1px 6px; vertical-align: top; }
table.claims td:first-child { font-family: monospace; }
.missing { color: #b00020; }
.none, .prov { color: #666; font-size: 0.85em; }
"""


def build_site(build: Path, figures: Path, out: Path) -> SiteReport:
    """Write ``out/<stem>.html`` for every executed notebook in ``build`` and
    ``out/index.html`` for the whole catalog; return what was written and what is missing."""
    build, figures, out = Path(build), Path(figures), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    report = SiteReport(out=out, index=out / "index.html")
    sections = []
    for entry in catalog.NOTEBOOKS.values():
        executed = build / f"{entry.stem}.ipynb"
        if executed.exists():
            try:
                export_notebook(executed, out / f"{entry.stem}.html")
                report.pages[entry.stem] = out / f"{entry.stem}.html"
                title = f'<a href="{_e(entry.stem)}.html">{_e(entry.stem)}</a>'
            except Exception as err:  # a broken file must not stop the other pages
                report.failed[entry.stem] = f"{type(err).__name__}: {err}"
                title = (
                    f'{_e(entry.stem)} <span class="missing">(could not export: '
                    f"{_e(report.failed[entry.stem])})</span>"
                )
        else:
            report.missing_notebooks[entry.stem] = executed
            title = (
                f'{_e(entry.stem)} <span class="missing">(not executed: no {_e(executed)}; '
                f"<code>python -m nbutils run {_e(entry.stem)}</code>)</span>"
            )
        blocks = "".join(_figure_block(name, figures, out, report) for name in entry.figures)
        sections.append(
            f'<section class="notebook" id="{_e(entry.stem)}"><h3>{title}</h3>'
            f"<p>Reproduces: {_e(entry.reproduces)}</p>"
            f'<div class="figures">{blocks}</div></section>'
        )
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>Unlearning as multi-task optimization: executed notebooks</title>"
        f"<style>{INDEX_CSS}</style></head><body>"
        "<h1>Unlearning as multi-task optimization: the notebooks, executed</h1>"
        "<p>Each notebook as it ran (no kernel needed to read it), its figures and the "
        "numbers its claims rest on, from each figure's JSON sidecar. "
        f"Executed notebooks from <code>{_e(build)}</code>, figures from "
        f"<code>{_e(figures)}</code>.</p>"
        f'<h2 id="scorecard">Scorecard</h2>{_scorecard(figures, out)}'
        f"<h2>Notebooks</h2>{''.join(sections)}</body></html>\n"
    )
    report.index.write_text(page, encoding="utf-8")
    return report
