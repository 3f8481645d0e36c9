"""``python -m nbutils scorecard``: every draw's notebooks in one queue, then the scorecard,
never over one that rests on more draws or runs without ``--force``."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..core import paths
from . import catalog, figures, scorecard
from .running import (
    check_jobs,
    error,
    folder_to_read,
    folder_to_write,
    overrides_of,
    plan,
    run_queue,
)


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
    plan: dict[str, list[int]]  # notebook -> its draws
    planned: dict[int, list]  # draw -> its notebooks, with their parameters
    old: dict | None  # the scorecard.json it would replace


def card_folders(args, smoke: bool) -> tuple[Path, Path, bool]:
    """``--out`` (default: figures/ for the official run, else ``<build>/scorecard``),
    ``--build`` (default: build/), and whether this is the official run."""
    build = Path(args.build).resolve() if args.build else paths.build_dir()
    official = not smoke and args.out is None
    default_out = paths.figures_dir() if official else build / "scorecard"
    return (Path(args.out).resolve() if args.out else default_out), build, official


def _checkcard_folders(args, out: Path, build: Path, draws: list[int], stems: list[str]):
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
            f"--collect: no sidecar of draws {scorecard.draws_text(draws)} in {out} (draw 0) or "
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
    ids = scorecard.check_claim_ids(args.claims)
    stems = scorecard.notebooks_for(ids)
    smoke = overrides_of(args, "").get("smoke") is True  # --smoke or -p smoke True
    draw_plan = scorecard.draw_plan(stems, args.seeds, smoke)
    draws = scorecard.check_draws(args.seeds) if args.seeds else scorecard.plan_draws(draw_plan)
    out, build, official = card_folders(args, smoke)
    plan(stems, overrides_of(args, ""))  # every override is declared by one of the notebooks
    planned = {}
    for draw in draws:
        on_draw = [stem for stem in stems if draw in draw_plan[stem]]
        overrides = overrides_of(args, str(scorecard.draw_dir(draw, out)))
        declared = {k: v for k, v in overrides.items() if _declared(k, on_draw)}
        planned[draw] = plan(on_draw, scorecard.draw_overrides(draw, declared))
    _checkcard_folders(args, out, build, draws, stems)
    old = _old_card(args, out)
    lost = scorecard.foreseen_losses(old, draws, ids) if old and not args.force else []
    if lost:
        raise ValueError(refusal(out / "scorecard.json", lost))
    return CardJob(out, build, official, smoke, draws, ids, stems, draw_plan, planned, old)


def _declared(key: str, stems: list[str]) -> bool:
    return any(key in catalog.entry(stem).params for stem in stems)


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
        stems = [stem for stem in job.stems if draw in job.plan[stem]]
        per_draw.append(scorecard.collect(draw, folder, stems, failed[draw], absent, job.smoke))
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
    rows = scorecard.build(per_draw, job.ids, job.draws, failed, not_run, job.plan)
    provenance = scorecard.provenance(started, args.jobs, job.smoke, commit)
    if job.old is not None:
        new = scorecard.card(rows, job.draws, failed, provenance, not_run, job.plan)
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
        text = scorecard.write(job.out, rows, job.draws, failed, provenance, not_run, job.plan)
        if job.official and not args.claims:
            scorecard.update_readme(text)
    except OSError as err:
        return error(err)
    print(text)
    print(f"scorecard -> {job.out}/scorecard.{{json,md,png}}")
    return 1 if any(failed.values()) or any(not_run.values()) else 0
