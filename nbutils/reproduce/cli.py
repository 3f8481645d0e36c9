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
import os
import sys
import time
from pathlib import Path

from ..core import paths
from ..engine import executor
from . import catalog, figures, scorecard
from .card_command import cmd_scorecard
from .running import (
    check_jobs,
    declared_defaults,
    error,
    folder_to_read,
    folder_to_write,
    overrides_of,
    plan,
    run_all,
)


def cmd_list(_args) -> int:
    for e in catalog.NOTEBOOKS.values():
        print(f"{e.stem:24s} {e.reproduces}")
        print(f"{'':24s} figures: {', '.join(e.figures)}")
    return 0


def cmd_run(args) -> int:
    out = Path(args.out).resolve() if args.out else paths.figures_dir()
    overrides = overrides_of(args, str(out))
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


def cmd_tune(args) -> int:
    """Every notebook's plan at its default parameters on draw 0, tuned in one go
    (successive halving; ``--full``: every rate on every held-out seed), into the table
    of tuned rates."""
    from ..core import runtime
    from ..engine import tuning
    from . import session, tuning_plans

    started = time.perf_counter()
    out = Path(args.out).resolve() if args.out else paths.rates_file()
    names = list(tuning_plans.PLANS) if not args.notebooks else args.notebooks
    try:
        stems = [catalog.entry(n).stem for n in names]
        unplanned = [s for s in stems if s not in tuning_plans.PLANS]
        if unplanned:
            raise ValueError(f"no rates to tune in {unplanned}")
        folder_to_write(out.parent, "--out")
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


def add_param_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``-p KEY VALUE``, repeatable: a notebook parameter (a Python literal, else text)."""
    parser.add_argument(
        "-p", "--param", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"), help=help
    )


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
    add_param_option(run, "set a notebook parameter")
    run.set_defaults(func=cmd_run)
    card = sub.add_parser(
        "scorecard", help="every claim on several benchmark draws, with intervals and verdicts"
    )
    card.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        help="benchmark draws, the same for every notebook (default: "
        f"{scorecard.plan_text(scorecard.draw_plan(list(catalog.NOTEBOOKS)))}; "
        f"with --smoke {' '.join(map(str, scorecard.DEFAULT_DRAWS))})",
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
    add_param_option(card, "set a notebook parameter (every draw)")
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
