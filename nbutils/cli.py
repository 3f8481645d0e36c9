"""``python -m nbutils``: list the notebooks and their figures; run them through papermill;
the scorecard of every claim over several benchmark draws.

    python -m nbutils list
    python -m nbutils run NOTEBOOK|all [--smoke] [--seed N] [--out DIR] [--jobs N] [-p KEY VALUE]...
    python -m nbutils scorecard [--seeds A B ...] [--smoke] [--jobs N] [--claims ID ...]
                                [--collect] [--out DIR] [--build DIR] [--force]
    python -m nbutils tune [NOTEBOOK ...] [--full] [--smoke] [--out FILE]
    python -m nbutils site [--build DIR] [--figures DIR] [--out DIR]
    python -m nbutils compare BEFORE AFTER [--part claims|data|params] [--rel-tol X] [--ignore RE]

Every parameter is validated against the notebooks' declared parameters before any
notebook starts. Executed notebooks go to ``build/`` (with their widgets' state, so
progress bars can be drawn without a kernel); figures to ``figures/`` or ``--out``. A
failed notebook makes the command exit 1, naming the notebook and cell. ``--jobs N``
runs N notebooks at once, the machine's cores divided among them (torch threads per
kernel); runs they share are computed once (the run cache's locks). ``site`` writes the
executed notebooks as HTML to read without running them (``nbutils.site``). ``compare``
lists the sidecar values that differ between two folders of figures (exit 1 if any).
A folder that does not exist or cannot be made is one line naming it (exit 2).
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from . import catalog, figures, scorecard
from .core import paths
from .engine import executor
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


def cmd_list(_args) -> int:
    for e in catalog.NOTEBOOKS.values():
        print(f"{e.stem:24s} {e.reproduces}")
        print(f"{'':24s} figures: {', '.join(e.figures)}")
    return 0


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

    first = [r for r in items if r[0].stem == "00_tour"]
    rest = [r for r in items if r[0].stem != "00_tour"]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one, first))
        list(pool.map(one, rest))
    return failures


# Parameters that may name a local folder: a relative path is taken from where the command
# runs (a kernel runs in notebooks/, where the same relative path would name nothing).
PATH_PARAMS = ("model", "dataset")


def _overrides(args, out: str) -> dict:
    overrides = {k: parse_value(v) for k, v in args.param}
    for key in PATH_PARAMS:
        if isinstance(overrides.get(key), str) and Path(overrides[key]).exists():
            overrides[key] = str(Path(overrides[key]).resolve())
    if args.smoke:
        overrides["smoke"] = True
    overrides["out_dir"] = out
    return overrides


def cmd_run(args) -> int:
    out = Path(args.out).resolve() if args.out else paths.figures_dir()
    overrides = _overrides(args, str(out))
    if args.seed is not None:
        overrides["seed"] = args.seed
    names = list(catalog.NOTEBOOKS) if args.notebook == "all" else [args.notebook]
    build = Path(args.build) if args.build else paths.build_dir()
    try:
        check_jobs(args.jobs)
        runs = plan(names, overrides)
        folder_to_write(out, "--out")
        folder_to_write(build, "--build")
    except ValueError as err:
        return error(err)
    failures = run_all(runs, build, args.jobs)
    if failures:
        print(f"error: {len(failures)} notebook(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


@dataclass
class CardJob:
    """A scorecard command, checked: its folders, draws, claims and planned runs."""

    out: Path  # the scorecard, draw 0's sidecars, the others' in out/draws/draw-<seed>/
    build: Path  # executed notebooks, build/notebooks/draw-<seed>/
    official: bool  # figures/ and the README's table
    smoke: bool
    draws: list[int]
    ids: list[str]
    stems: list[str]
    planned: dict[int, list]
    old: dict | None  # the scorecard.json it would replace


def _card_folders(args, smoke: bool) -> tuple[Path, Path, bool]:
    """``--out`` (default: figures/ for the official run, else ``<build>/scorecard``),
    ``--build`` (default: build/), and whether this is the official run."""
    build = Path(args.build).resolve() if args.build else paths.build_dir()
    official = not smoke and args.out is None
    default_out = paths.figures_dir() if official else build / "scorecard"
    return (Path(args.out).resolve() if args.out else default_out), build, official


def _check_card_folders(args, out: Path, build: Path, draws: list[int], stems: list[str]):
    """``--collect``: the folders exist and hold a draw; else they can be made."""
    if not args.collect:
        folder_to_write(out, "--out")
        folder_to_write(build, "--build")
        return
    if args.build:
        folder_to_read(build, "--build")
    folder_to_read(out, "--collect: scorecard folder")
    if not scorecard.draws_present(draws, out, stems):
        raise ValueError(
            f"--collect: no sidecar of draws {draws} in {out} (draw 0) or "
            f"{out / scorecard.DRAWS_FOLDER}/draw-<seed>: nothing to collect"
        )


def _old_card(args, out: Path) -> dict | None:
    """The scorecard.json in ``out`` (None when there is none, or with --force when it
    cannot be read)."""
    try:
        return scorecard.read_card(out / "scorecard.json")
    except ValueError:
        if args.force:
            return None
        raise


def plan_card(args) -> CardJob:
    """Everything checked before a notebook runs; ValueError (or KeyError) saying what is
    wrong, nothing written."""
    check_jobs(args.jobs)
    draws = scorecard.check_draws(args.seeds)
    ids = scorecard.check_claim_ids(args.claims)
    stems = scorecard.notebooks_for(ids)
    smoke = _overrides(args, "").get("smoke") is True  # --smoke or -p smoke True
    out, build, official = _card_folders(args, smoke)
    planned = {
        draw: plan(
            stems,
            scorecard.draw_overrides(draw, _overrides(args, str(scorecard.draw_dir(draw, out)))),
        )
        for draw in draws
    }
    _check_card_folders(args, out, build, draws, stems)
    old = _old_card(args, out)
    lost = scorecard.foreseen_losses(old, draws, ids) if old and not args.force else []
    if lost:
        raise ValueError(refusal(out / "scorecard.json", lost))
    return CardJob(out, build, official, smoke, draws, ids, stems, planned, old)


def refusal(path: Path, lost: list[str]) -> str:
    return (
        f"{path} rests on more than this scorecard would: it would lose {'; '.join(lost)}. "
        "Nothing written; --force replaces it"
    )


def measure(args, job: CardJob) -> tuple[dict, dict, list]:
    """Run (or with --collect take as they are) every draw's notebooks; return the
    failures and the not-run notebooks (draw -> notebook -> reason) and each draw's runs."""
    failed: dict[int, dict[str, str]] = {draw: {} for draw in job.draws}
    not_run: dict[int, dict[str, str]] = {}
    per_draw = []
    if not args.collect:  # every draw's notebooks in one queue: no core waits for a draw
        queue = [
            (entry, values, job.build / "notebooks" / f"draw-{draw}")
            for draw in job.draws
            for entry, values in job.planned[draw]
        ]
        for (stem, draw), reason in run_queue(queue, args.jobs).items():
            failed[draw][stem] = reason
    for draw in job.draws:
        not_run[draw] = {}
        absent = not_run[draw] if args.collect else None
        folder = scorecard.draw_dir(draw, job.out)
        per_draw.append(scorecard.collect(draw, folder, job.stems, failed[draw], absent, job.smoke))
    return failed, not_run, per_draw


def cmd_scorecard(args) -> int:
    """Run the notebooks that measure the claims on every draw (``--collect``: take their
    sidecars as they are), then the scorecard; never over one that rests on more draws or
    runs without ``--force``."""
    started = time.perf_counter()
    try:
        job = plan_card(args)
    except (ValueError, KeyError) as err:
        return error(err)
    failed, not_run, per_draw = measure(args, job)
    per_draw, commit = scorecard.pool_one_commit(per_draw, failed, figures.git_commit())
    rows = scorecard.build(per_draw, job.ids, job.draws, failed, not_run)
    provenance = scorecard.provenance(started, args.jobs, job.smoke, commit)
    if job.old is not None:
        new = scorecard.card(rows, job.draws, failed, provenance, not_run)
        lost = scorecard.losses(job.old, new)
        if lost and not args.force:
            again = "" if args.collect else " (`--collect --force` writes it from these sidecars)"
            return error(refusal(job.out / "scorecard.json", lost) + again)
        if lost:
            print(
                f"warning: replacing a scorecard that rested on more: {'; '.join(lost)}",
                file=sys.stderr,
            )
    try:
        text = scorecard.write(job.out, rows, job.draws, failed, provenance, not_run)
        if job.official and not args.claims:
            scorecard.update_readme(text)
    except OSError as err:
        return error(err)
    print(text)
    print(f"scorecard -> {job.out}/scorecard.{{json,md,png}}")
    return 1 if any(failed.values()) or any(not_run.values()) else 0


def cmd_tune(args) -> int:
    """Every notebook's plan at its default parameters on draw 0, tuned in one go
    (successive halving; ``--full``: every rate on every held-out seed), into the table
    of tuned rates."""
    from . import session, tuning_plans
    from .core import runtime
    from .engine import tuning

    started = time.perf_counter()
    out = Path(args.out).resolve() if args.out else paths.rates_file()
    names = list(tuning_plans.PLANS) if not args.notebooks else args.notebooks
    try:
        stems = [catalog.entry(n).stem for n in names]
        unplanned = [s for s in stems if s not in tuning_plans.PLANS]
        if unplanned:
            raise ValueError(f"no rates to tune in {unplanned}")
        if not out.parent.is_dir():
            raise ValueError(f"--out {out}: folder {out.parent} does not exist")
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    requests = {}
    for stem in stems:
        values = {**declared_defaults(stem), "seed": 0, "smoke": args.smoke}
        values["out_dir"] = str(paths.build_dir() / "tune")
        opened = session.setup(stem, **values)
        for request in tuning_plans.PLANS[stem](opened, *tuning_plans.objects(opened)):
            requests.setdefault(request.key, request)
    print(f"{len(requests)} rates to tune for {', '.join(stems)}", flush=True)
    chosen = list(requests.values())
    table = tuning.RateTable(out)
    for request, answer in zip(chosen, tuning.tune(chosen, full=args.full)):
        table.record(request, answer)
    table.save(
        {
            "git_commit": figures.git_commit(),
            "versions": figures.versions(),
            **runtime.machine(),
            "executor": executor.backend(),
            "workers": executor.workers(),
            "method": "full grid" if args.full else "successive halving",
            "smoke": args.smoke,
            "runs": executor.LEDGER.as_dict(),
            "wall_time_s": round(time.perf_counter() - started, 1),
        }
    )
    print(tuning.summary({r.name: table.lookup(r)[0] for r in chosen}).to_string())
    print(f"tuned rates -> {out}")
    return 0


def cmd_site(args) -> int:
    from . import site

    try:
        build = folder_to_read(Path(args.build), "--build") if args.build else paths.build_dir()
        figures_folder = (
            folder_to_read(Path(args.figures), "--figures") if args.figures else paths.figures_dir()
        )
        out = folder_to_write(Path(args.out) if args.out else build / "site", "--out")
        report = site.build_site(build, figures_folder, out)
    except (ValueError, OSError) as err:
        return error(err)
    lines = report.lines()
    print(lines[0])
    for line in lines[1:]:
        print(line, file=sys.stderr)
    return 0 if report.pages else 1


def cmd_compare(args) -> int:
    from . import sidecars

    try:
        moved, compared = sidecars.differences(
            args.before, args.after, args.part, args.rel_tol, args.ignore
        )
    except (ValueError, OSError) as err:
        return error(err)
    for figure, rows in moved.groupby("figure", sort=False):
        print(f"{figure}: {len(rows)} differ")
        for row in rows.itertuples():
            print(f"   {row.path}: {row.before!r} -> {row.after!r}")
    print(f"{len(moved)} of {compared} {args.part} values differ (rel_tol {args.rel_tol:g})")
    return 1 if len(moved) else 0


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """Where the notebooks' runs compute (``engine.executor``): set for the notebooks'
    kernels through the environment."""
    parser.add_argument(
        "--executor",
        choices=executor.BACKENDS,
        help="local worker processes (default), serial, or a Ray cluster (NBUTILS_RAY_ADDRESS)",
    )
    parser.add_argument(
        "--workers", type=int, help="local worker processes (default: one per core)"
    )


def apply_executor_options(args) -> None:
    """``--executor`` and ``--workers`` into the environment the kernels inherit."""
    if getattr(args, "executor", None):
        os.environ[executor.EXECUTOR_VARIABLE] = args.executor
    if getattr(args, "workers", None) is not None:
        if args.workers < 1:
            raise ValueError(f"--workers must be at least 1, got {args.workers}")
        os.environ[executor.WORKERS_VARIABLE] = str(args.workers)


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
    run.add_argument("--jobs", type=int, default=1, help="notebooks at once (default 1)")
    add_executor_options(run)
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
    card = sub.add_parser(
        "scorecard", help="every claim on several benchmark draws, with intervals and verdicts"
    )
    card.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=list(scorecard.DEFAULT_DRAWS),
        help="benchmark draws (default: 0 1 2)",
    )
    card.add_argument("--smoke", action="store_true", help="smoke size: minutes in all")
    card.add_argument("--jobs", type=int, default=1, help="notebooks at once (default 1)")
    add_executor_options(card)
    card.add_argument("--claims", nargs="+", help="report only these claim ids")
    card.add_argument(
        "--collect",
        action="store_true",
        help="run nothing: the scorecard of the sidecars already in each draw's folder "
        "(after `run` by hand; a notebook without sidecars there is reported as not run, "
        "one with some missing as failed)",
    )
    card.add_argument(
        "--out",
        help="folder for the scorecard and draw 0's figures, the other draws' in "
        "OUT/draws/draw-<seed>/ (default: figures/; with --smoke BUILD/scorecard/)",
    )
    card.add_argument("--build", help="folder for executed notebooks (default: build/)")
    card.add_argument(
        "--force",
        action="store_true",
        help="replace a scorecard.json that rests on more draws or runs than the new one",
    )
    card.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        default=[],
        metavar=("KEY", "VALUE"),
        help="set a notebook parameter (every draw)",
    )
    card.set_defaults(func=cmd_scorecard)

    tune = sub.add_parser(
        "tune", help="tune every notebook's rates on draw 0 into figures/tuned_rates.json"
    )
    tune.add_argument("notebooks", nargs="*", help="only these notebooks (default: every one)")
    tune.add_argument(
        "--full", action="store_true", help="every rate on every held-out seed (no halving)"
    )
    tune.add_argument("--smoke", action="store_true", help="smoke size (a test of the job)")
    tune.add_argument("--out", help="the table to write (default: figures/tuned_rates.json)")
    add_executor_options(tune)
    tune.set_defaults(func=cmd_tune)

    site = sub.add_parser(
        "site", help="the executed notebooks as HTML with an index, to read without running"
    )
    site.add_argument("--build", help="folder of executed notebooks (default: build/)")
    site.add_argument("--figures", help="folder of figures and sidecars (default: figures/)")
    site.add_argument("--out", help="folder for the HTML (default: build/site/)")
    site.set_defaults(func=cmd_site)

    compare = sub.add_parser(
        "compare", help="the sidecar values that differ between two folders of figures"
    )
    compare.add_argument("before", help="a folder of figures and sidecars")
    compare.add_argument("after", help="another, with sidecars of the same names")
    compare.add_argument("--part", default="claims", help="claims (default), data or params")
    compare.add_argument(
        "--rel-tol", type=float, default=0.0, help="numbers this close count as equal (default 0)"
    )
    compare.add_argument(
        "--ignore", help="a regular expression: values whose dotted path matches are skipped"
    )
    compare.set_defaults(func=cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        apply_executor_options(args)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return args.func(args)
