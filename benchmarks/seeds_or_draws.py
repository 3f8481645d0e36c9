"""More seeds or more draws? For each claim of the notebooks behind Table 1, Table 3 and
Fig. 4-6 that is a mean: the variance of its draw means against the part of it that the
seeds within a draw explain (the mean over draws of s^2 / n). Where the draw means vary
much more than their seeds explain, more seeds per draw cannot narrow the pooled
interval (it is over draw means); only more draws can.

    python benchmarks/seeds_or_draws.py FOLDER --draws 3 4 5 6   # with the release's 0-2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
from more_draws import NOTEBOOKS, mean_claims, release_and


def variance_parts(runs: pd.DataFrame) -> tuple[float, float]:
    """(variance of the draw means, mean over draws of the seeds' variance / n)."""
    by_draw = runs.groupby("draw")["value"]
    return float(by_draw.mean().var(ddof=1)), float((by_draw.var(ddof=1) / by_draw.count()).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--draws", type=int, nargs="+", required=True)
    args = parser.parse_args()
    runs = pd.concat(release_and(args.folder, args.draws, NOTEBOOKS))
    print("| claim | draws | variance of the draw means | seeds' part (s^2/n) | ratio |")
    print("|---|---:|---:|---:|---:|")
    for claim_id in mean_claims(NOTEBOOKS):
        mine = runs[runs["claim"] == claim_id].dropna(subset=["value"])
        between, within = variance_parts(mine)
        ratio = f"{between / within:.2g}" if within > 0 else "-"  # every run one value: no spread
        print(f"| `{claim_id}` | {mine['draw'].nunique()} | {between:.3g} | {within:.3g} | "
              f"{ratio} |")  # fmt: skip


if __name__ == "__main__":
    main()
