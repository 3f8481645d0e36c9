"""The coverage of the verdict intervals at the sizes the notebooks use, as a Markdown
table for ``benchmarks/README.md``: per design (a mean over 1 draw x 3 or 5 seeds, 3
draws x 3 seeds, 3 draws x 1 run, 5 draws x 3 seeds; a std ratio over 1 or 3 draws x 5
seeds, pairs independent or sharing a seed) and run shape, the share of simulated
measurements whose 95% interval holds the true value, and the mean interval width, for
the verdict intervals (``nbutils.stats.verdict_intervals``), the normal-theory ones
(Student t, F) and the percentile stratified bootstrap the verdicts used before issue 25.
The first table has the shapes the intervals are calibrated on (the ones they are claimed
for); the second, shapes they were not calibrated on, to show where they end.

    python benchmarks/coverage.py [--replicates 4000] [--boot 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nbutils import stats  # noqa: E402

CHUNK = 200  # replicates bootstrapped at once


def percentile_bootstrap(boot: int, seed: int):
    """The verdicts' interval before issue 25 as a coverage method: a percentile
    bootstrap of ``boot`` resamples, runs resampled within each draw (draws as strata,
    never resampled). The statistic: the mean over all runs; for a std ratio, the mean
    over draws of np.std of the values over that of the references (NaN resamples left
    out)."""

    def intervals(case, values, references, confidence):
        rng = np.random.default_rng(seed)
        tail = (1 - confidence) / 2
        replicates, draws, seeds = values.shape
        low, high = np.empty(replicates), np.empty(replicates)
        for start in range(0, replicates, CHUNK):
            part = slice(start, min(start + CHUNK, replicates))
            rows = rng.integers(0, seeds, (values[part].shape[0], boot, draws, seeds))
            drawn = np.take_along_axis(values[part][:, None], rows, axis=3)
            if references is None:
                statistic = drawn.mean(axis=(2, 3))
            else:
                paired = np.take_along_axis(references[part][:, None], rows, axis=3)
                own, reference = drawn.std(axis=3).mean(2), paired.std(axis=3).mean(2)
                with np.errstate(divide="ignore", invalid="ignore"):
                    statistic = np.where(reference > 0, own / reference, math.nan)
            with warnings.catch_warnings():  # a replicate whose resamples all lack spread
                warnings.simplefilter("ignore", RuntimeWarning)
                bounds = np.nanquantile(statistic, [tail, 1 - tail], axis=1)
            low[part], high[part] = bounds
        return low, high

    return intervals


def _standardized(draw, mean: float, sd: float):
    return lambda rng, size: (draw(rng, size) - mean) / sd


def held_out_shapes() -> dict:
    """Shapes the quantiles were not calibrated on, standardized to mean 0 and sd 1: a
    heavier lognormal (sigma 1.5, as the ratios of ngdiff.fig7 across seeds), Beta(0.3,
    3) (piled nearer 0), Student t with 3 df (symmetric, heavy tails), a run that
    collapses one time in five (0.7 -+ 0.05, else 0: as a ROUGE_R with a diverged run) and
    a run of two values, each half the time (as ngdiff.fig3's share of 40 steps, 0.975 or
    1.0: draw means coincide, and an interval on them has no width)."""
    s2 = 1.5**2
    a, b = 0.3, 3.0
    p, bulk, spread = 0.2, 0.7, 0.05
    collapse_mean = (1 - p) * bulk
    collapse_sd = math.sqrt((1 - p) * spread**2 + p * (1 - p) * bulk**2)

    def collapses(rng, size):
        runs = rng.normal(bulk, spread, size)
        return np.where(rng.random(size) < p, 0.0, runs)

    return {
        "lognormal sigma 1.5": _standardized(
            lambda rng, size: rng.lognormal(0.0, 1.5, size),
            math.exp(s2 / 2),
            math.sqrt((math.exp(s2) - 1) * math.exp(s2)),
        ),
        "beta(0.3, 3)": _standardized(
            lambda rng, size: rng.beta(a, b, size),
            a / (a + b),
            math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1))),
        ),
        "t, 3 df": _standardized(lambda rng, size: rng.standard_t(3, size), 0.0, math.sqrt(3.0)),
        "1 run in 5 collapses": _standardized(collapses, collapse_mean, collapse_sd),
        "two values": lambda rng, size: 2.0 * rng.integers(0, 2, size) - 1.0,
    }


def case_name(row) -> str:
    runs = f"{row.draws} draw{'s' if row.draws > 1 else ''} x {row.seeds}"
    name = f"{'mean' if row.statistic == 'mean' else 'std ratio'}, {runs}"
    return name + (
        f", pairs share a seed {row.pair_correlation:.0%}" if row.pair_correlation else ""
    )


def markdown(table: pd.DataFrame) -> str:
    """One row per case and shape; per method the coverage, the mean width and the
    median width."""
    methods = list(dict.fromkeys(table["method"]))
    titles = [f"{m}: coverage, width (median)" for m in methods]
    header = "| design | runs | " + " | ".join(titles) + " |"
    lines = [header, "|---|---|" + "---:|" * len(methods)]
    keys = ["statistic", "draws", "seeds", "pair_correlation", "shape"]
    for key, part in table.groupby(keys, sort=False):
        row = part.iloc[0]
        cells = []
        for method in methods:
            mine = part[part["method"] == method].iloc[0]
            mark = "**" if mine.coverage < 0.93 else ""
            width = f"{mine.width:.3g} ({mine.median_width:.3g})"
            cells.append(f"{mark}{mine.coverage:.3f}{mark}, {width}")
        lines.append(f"| {case_name(row)} | {key[-1]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicates", type=int, default=4000)
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    methods = {
        **stats.COVERAGE_METHODS,
        "old percentile bootstrap": percentile_bootstrap(args.boot, args.seed),
    }
    started = time.perf_counter()
    for title, shapes in (
        ("Shapes the quantiles are calibrated on (claimed)", stats.REFERENCE_SHAPES),
        ("Shapes they were not calibrated on (not claimed)", held_out_shapes()),
    ):
        table = stats.interval_coverage(
            shapes=shapes, methods=methods, replicates=args.replicates, seed=args.seed
        )
        print(f"**{title}**\n\n{markdown(table)}\n")
    quantiles = ", ".join(f"{k}: {stats.calibrated_t_quantile(k):.3g}" for k in (2, 3, 5, 9))
    print(
        f"Nominal 0.95; {args.replicates} simulated measurements per cell ({args.boot} "
        f"bootstrap resamples each); bold: below 0.93. Widths (mean, median): means in "
        f"units of the seeds' sd, std ratios at a true ratio 1. Calibrated t quantiles by "
        f"units ({quantiles}); "
        f"calibrated log std ratio half-width at 5 pairs "
        f"{stats.calibrated_log_ratio_quantile(5):.3g} (F: {stats.f_log_ratio_quantile(5):.3g}). "
        f"{time.perf_counter() - started:.0f} s."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
