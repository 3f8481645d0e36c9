"""Did more draws decide what ``draws_needed.py`` planned? The release's draws 0-2 (its
scorecard gives the plan) and further draws from another folder (``scorecard --seeds 3 4
... --out FOLDER``), pooled by the checkout's rules over the first 3, 4, ... draws; and the
plan read again from every draw (the last column: ``scorecard.DRAW_COUNTS`` rests on it).

    python benchmarks/more_draws.py FOLDER --draws 3 4 5 6 [--notebooks 00_tour ...] [--up-to 40]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import pandas as pd
from draws_needed import plan

from nbutils import claims
from nbutils.core import paths
from nbutils.reproduce.scorecard import pooling

RELEASE_DRAWS = [0, 1, 2]
NOTEBOOKS = ["04_lr_sensitivity", "06_method_comparison"]  # Table 1, Table 3, Fig. 4-6


def mean_claims(notebooks: list[str]) -> list[str]:
    """The evidence claims of ``notebooks`` whose statistic is a mean over runs."""
    return [
        i for i, c in claims.REGISTRY.items()
        if c.notebook in notebooks and c.kind == "evidence" and c.statistic == "mean"
    ]  # fmt: skip


def release_and(folder: Path, draws: list[int], notebooks: list[str]) -> list[pd.DataFrame]:
    """The runs of the release's draws 0-2 (figures/) and of ``draws`` in ``folder``."""
    release = paths.REPO_DIR / "figures"
    tables = [measured(d, release, notebooks) for d in RELEASE_DRAWS]
    return tables + [measured(d, folder, notebooks) for d in draws]


def measured(draw: int, folder: Path, stems: list[str]) -> pd.DataFrame:
    """One draw's runs; an error naming the notebooks whose sidecars are not complete."""
    failed: dict[str, str] = {}
    table = pooling.collect(draw, pooling.draw_dir(draw, folder), stems, failed)
    if failed:
        raise SystemExit(f"draw {draw} in {folder}: {failed}")
    return table.drop(columns="git_commit")  # draws of two commits, pooled on purpose


def pooled(tables: list[pd.DataFrame], ids: list[str], draws: list[int]) -> dict[str, dict]:
    rows = pooling.build(tables, ids, draws, {d: {} for d in draws})
    return {r["id"]: r["pooled"] for r in rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--draws", type=int, nargs="+", required=True)
    parser.add_argument("--notebooks", nargs="+", default=NOTEBOOKS)
    parser.add_argument("--up-to", type=int, default=40, help="the last column's limit")
    args = parser.parse_args()
    release = paths.REPO_DIR / "figures"
    card = {c["id"]: c for c in json.loads((release / "scorecard.json").read_text())["claims"]}
    ids = mean_claims(args.notebooks)
    tables = release_and(args.folder, args.draws, args.notebooks)
    draws = RELEASE_DRAWS + args.draws
    by_count = {n: pooled(tables[:n], ids, draws[:n]) for n in range(3, len(draws) + 1)}
    new_alone = pooled(tables[3:], ids, args.draws)
    counts = list(by_count)
    alone = f"draws {args.draws[0]}-{args.draws[-1]} alone"
    print("| claim | plan (draws, verdict) | " + " | ".join(f"{n} draws" for n in counts)
          + f" | {alone} | plan from {counts[-1]} draws |")  # fmt: skip
    print("|---|---|" + "---|" * (len(counts) + 2))
    tally = Counter()
    for i in ids:
        needed, projected = plan(card[i]) or (None, "inconclusive")
        cells = [by_count[n][i] for n in counts]
        if needed is not None and needed <= counts[-1]:
            for where, n in (("at the planned count", needed), (f"at {counts[-1]}", counts[-1])):
                got = by_count[n][i]["verdict"]
                how = "as planned" if got == projected else got if got == "inconclusive" else (
                    "the other way")  # fmt: skip
                tally[f"planned to decide within {counts[-1]} draws, {where}: {how}"] += 1
        planned = "-" if needed is None else f"{needed}, {projected}"
        text = [f"{c['value']:.3g} {c['verdict']}" for c in cells + [new_alone[i]]]
        again = plan({**card[i], "pooled": cells[-1]}, args.up_to)
        text.append("-" if again is None else f"{again[0] or f'> {args.up_to}'}, {again[1]}")
        print(f"| `{i}` | {planned} | " + " | ".join(text) + " |")
    for key, n in sorted(tally.items()):
        print(f"{key}: {n}")


if __name__ == "__main__":
    main()
