"""Running notebooks through papermill: their parameters planned and checked, one at a time
or several at once, a failure named by its cell; folders checked before any work."""

from __future__ import annotations

import ast
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ..core import paths
from ..engine import executor
from . import catalog
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


def folder_to_read(path: Path, what: str) -> Path:
    """``path`` when it is a folder; ValueError naming it (as ``what``) otherwise."""
    if not path.is_dir():
        raise ValueError(f"{what} {path}: no such folder")
    return path


def folder_to_write(path: Path, what: str) -> Path:
    """``path``, made when missing; ValueError naming it (as ``what``) when it cannot be."""
    if path.exists() and not path.is_dir():
        raise ValueError(f"{what} {path}: not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"{what} {path}: cannot be made ({err.strerror or err})") from None
    return path


def error(message) -> int:
    """One line on stderr; exit status 2."""
    if isinstance(message, OSError) and message.filename:
        message = f"{message.filename}: {message.strerror}"
    elif isinstance(message, KeyError) and message.args:
        message = message.args[0]
    print(f"error: {message}", file=sys.stderr)
    return 2


def workers_per_job(jobs: int) -> int:
    """Executor workers for each of ``jobs`` notebooks at once: the cores divided among
    them."""
    return max(1, executor.workers() // jobs)


def check_jobs(jobs: int) -> int:
    if jobs < 1:
        raise ValueError(f"--jobs must be at least 1, got {jobs}")
    return jobs


def run_all(runs: list[tuple], build: Path, jobs: int = 1) -> dict[str, str]:
    """Execute planned notebooks (``plan``'s (entry, values) pairs) into ``build``, ``jobs``
    at a time (``run_queue``). Returns the failures by notebook."""
    failures = run_queue([(entry, values, build) for entry, values in runs], jobs)
    return {stem: reason for (stem, _), reason in failures.items()}


def run_queue(items: list[tuple], jobs: int = 1) -> dict[tuple[str, int], str]:
    """Execute (entry, values, build folder) items, ``jobs`` at a time: every 00_tour first
    (it fine-tunes the targets the others load), then the rest in order, each notebook's
    runs on its share of the cores (``workers_per_job``). Returns the failures by
    (notebook, seed): the error, naming the cell; the others still run."""
    if check_jobs(jobs) > 1:
        os.environ[executor.WORKERS_VARIABLE] = str(workers_per_job(jobs))
    failures: dict[tuple[str, int], str] = {}

    def one(item) -> None:
        entry, values, build = item
        print(f"running {entry.stem} (seed {values['seed']}) ...", flush=True)
        try:
            seconds = run_notebook(entry, values, build)
        except RuntimeError as err:
            print(f"FAILED: {err}", file=sys.stderr, flush=True)
            failures[entry.stem, values["seed"]] = str(err).splitlines()[0]
            return
        print(f"  {entry.stem} done in {seconds:.1f} s -> {values['out_dir']}", flush=True)

    first = [r for r in items if r[0].stem == catalog.TOUR]
    rest = [r for r in items if r[0].stem != catalog.TOUR]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, first))
        list(pool.map(one, rest))
    return failures


# Parameters that may name a local folder: a relative path is taken from where the command
# runs (a kernel runs in notebooks/, where the same relative path would name nothing).
PATH_PARAMS = ("model", "dataset")


def overrides_of(args, out: str) -> dict:
    overrides = {k: parse_value(v) for k, v in args.param}
    for key in PATH_PARAMS:
        if isinstance(overrides.get(key), str) and Path(overrides[key]).exists():
            overrides[key] = str(Path(overrides[key]).resolve())
    if args.smoke:
        overrides["smoke"] = True
    overrides["out_dir"] = out
    return overrides
