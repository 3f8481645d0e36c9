"""``python -m nbutils``: list the notebooks and their figures; run them through papermill.

    python -m nbutils list
    python -m nbutils run NOTEBOOK|all [--smoke] [--seed N] [--out DIR] [-p KEY VALUE]...
    python -m nbutils site [--build DIR] [--figures DIR] [--out DIR]

Every parameter is validated against the notebooks' declared parameters before any
notebook starts. Executed notebooks go to ``build/`` (with their widgets' state, so
progress bars can be drawn without a kernel); figures to ``figures/`` or ``--out``. A
failed notebook makes the command exit 1, naming the notebook and cell. ``site`` writes
the executed notebooks as HTML to read without running them (``nbutils.site``).
"""

from __future__ import annotations

import argparse
import ast
import sys
import time
from pathlib import Path

from . import catalog, paths
from .params import validate

# Every run: the python3 kernel, no console bar, and the widgets' state saved into the
# executed notebook (nbclient's default, made explicit: `site` draws the bars from it).
PAPERMILL_OPTIONS = {"kernel_name": "python3", "progress_bar": False, "store_widget_state": True}


def parse_value(text: str):
    """A ``-p`` value as a Python literal when it is one (``3``, ``True``, ``0.5``), else text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def declared_defaults(stem: str) -> dict:
    """The literal values of a notebook's ``parameters`` cell."""
    import papermill as pm

    found = pm.inspect_notebook(str(paths.notebooks_dir() / f"{stem}.ipynb"))
    return {name: ast.literal_eval(p["default"]) for name, p in found.items()}


def plan(names: list[str], overrides: dict) -> list[tuple[catalog.Entry, dict]]:
    """Each notebook to run with its full, validated parameter set (no work done yet).

    With several notebooks, an override goes to those that declare it; one that no
    notebook declares is an error. With one notebook, it must declare every override.
    """
    entries = [catalog.entry(n) for n in names]
    if len(entries) > 1:
        unused = [k for k in overrides if not any(k in e.params for e in entries)]
        if unused:
            raise ValueError(f"no notebook declares parameter(s) {unused}")
    runs = []
    for e in entries:
        given = (
            overrides
            if len(entries) == 1
            else {k: v for k, v in overrides.items() if k in e.params}
        )
        values = {**declared_defaults(e.stem), **given}
        runs.append((e, validate(e.params, values, where=f"notebook {e.stem}")))
    return runs


def run_notebook(entry: catalog.Entry, values: dict, build: Path) -> float:
    """Execute one notebook; return seconds. Raises ``RuntimeError`` naming the cell."""
    import papermill as pm

    build.mkdir(parents=True, exist_ok=True)
    source = paths.notebooks_dir() / f"{entry.stem}.ipynb"
    start = time.perf_counter()
    try:
        pm.execute_notebook(
            str(source),
            str(build / f"{entry.stem}.ipynb"),
            parameters=values,
            cwd=str(paths.notebooks_dir()),
            **PAPERMILL_OPTIONS,
        )
    except pm.PapermillExecutionError as err:
        executed = build / f"{entry.stem}.ipynb"
        raise RuntimeError(
            f"notebook {entry.stem} failed in {_source_cell(source, err.cell_index)}: "
            f"{err.ename}: {err.evalue}\n  executed copy: {executed}"
        ) from None
    return time.perf_counter() - start


def _source_cell(source: Path, index: int) -> str:
    """Name the cell that papermill reports by ``index`` (counted with the injected
    parameters cell, which follows the ``parameters`` cell) by its place in the source
    notebook (1-based) and its first line."""
    import nbformat

    cells = nbformat.read(source, as_version=4).cells
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])]
    if tagged and index > tagged[0]:
        index -= 1
    lines = cells[index].source.strip().splitlines() if index < len(cells) else []
    return f"cell {index + 1} ({lines[0] if lines else ''!r})"


def cmd_list(_args) -> int:
    for e in catalog.NOTEBOOKS.values():
        print(f"{e.stem:24s} {e.reproduces}")
        print(f"{'':24s} figures: {', '.join(e.figures)}")
    return 0


def cmd_run(args) -> int:
    overrides = {k: parse_value(v) for k, v in args.param}
    if args.smoke:
        overrides["smoke"] = True
    if args.seed is not None:
        overrides["seed"] = args.seed
    overrides["out_dir"] = str(Path(args.out).resolve()) if args.out else str(paths.figures_dir())
    names = list(catalog.NOTEBOOKS) if args.notebook == "all" else [args.notebook]
    try:
        runs = plan(names, overrides)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    build = Path(args.build) if args.build else paths.build_dir()
    failures = []
    for e, values in runs:
        print(f"running {e.stem} ...", flush=True)
        try:
            seconds = run_notebook(e, values, build)
        except RuntimeError as err:
            print(f"FAILED: {err}", file=sys.stderr, flush=True)
            failures.append(e.stem)
            continue
        print(f"  done in {seconds:.1f} s; figures: {', '.join(e.figures)} -> {values['out_dir']}")
    if failures:
        print(f"error: {len(failures)} notebook(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def cmd_site(args) -> int:
    from . import site

    build = Path(args.build) if args.build else paths.build_dir()
    figures = Path(args.figures) if args.figures else paths.figures_dir()
    out = Path(args.out) if args.out else build / "site"
    report = site.build_site(build, figures, out)
    lines = report.lines()
    print(lines[0])
    for line in lines[1:]:
        print(line, file=sys.stderr)
    return 0 if report.pages else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m nbutils", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="the notebooks and the figures each writes").set_defaults(
        func=cmd_list
    )
    run = sub.add_parser("run", help="execute notebooks through papermill")
    run.add_argument("notebook", help="a notebook (stem, file name or number) or 'all'")
    run.add_argument("--smoke", action="store_true", help="smoke size: well under a minute each")
    run.add_argument("--seed", type=int, help="base seed")
    run.add_argument("--out", help="folder for figures and sidecars (default: figures/)")
    run.add_argument("--build", help="folder for executed notebooks (default: build/)")
    run.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="set a notebook parameter",
    )
    run.set_defaults(func=cmd_run)
    site = sub.add_parser(
        "site", help="the executed notebooks as HTML with an index, to read without running"
    )
    site.add_argument("--build", help="folder of executed notebooks (default: build/)")
    site.add_argument("--figures", help="folder of figures and sidecars (default: figures/)")
    site.add_argument("--out", help="folder for the HTML (default: build/site/)")
    site.set_defaults(func=cmd_site)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
