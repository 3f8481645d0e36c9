"""The intervals' coverage by simulation at the sizes the notebooks use
(``benchmarks/coverage.py`` prints it)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from .intervals import (
    CONFIDENCE,
    REFERENCE_SHAPES,
    calibrated_t_interval,
    draw_means_interval,
    f_log_ratio_quantile,
    log_ratio_t_interval,
    std_ratio,
    std_ratio_interval,
    t_interval,
)

# --------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class CoverageCase:
    """One design of the coverage simulation: ``statistic`` "mean" or "std_ratio",
    ``draws`` benchmark draws of ``seeds`` runs each; for "std_ratio", each seed's value
    and reference share one draw of the shape with probability ``pair_correlation`` (the
    same seed for both: their correlation), else are independent."""

    statistic: str
    draws: int
    seeds: int
    pair_correlation: float = 0.0


COVERAGE_CASES = (
    CoverageCase("mean", 1, 3),
    CoverageCase("mean", 1, 5),
    CoverageCase("mean", 3, 3),
    CoverageCase("mean", 3, 1),
    CoverageCase("mean", 5, 3),
    CoverageCase("std_ratio", 1, 5),
    CoverageCase("std_ratio", 1, 5, 0.8),
    CoverageCase("std_ratio", 3, 5),
    CoverageCase("std_ratio", 3, 5, 0.8),
)
DRAW_EFFECT_SD = 1.0  # a draw's shift of the mean, of the seeds' shape, in their sd
LOG_RATIO_DRAW_SD = 0.5  # a draw's shift of the log std ratio (normal)


def simulated_runs(
    case: CoverageCase, sample, replicates: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray | None, float]:
    """``replicates`` simulated measurements of ``case``: ``values`` (replicates, draws,
    seeds), ``references`` of the same shape for "std_ratio" (else None) and the true
    statistic. ``sample``: a ``REFERENCE_SHAPES`` sampler. Means: seeds of the shape
    (mean 0, sd 1) plus, over several draws, a draw effect of the same shape and sd
    ``DRAW_EFFECT_SD`` (truth: 0, the mean over draws). Std ratios: references of the
    shape, values of the shape scaled per draw by exp(N(0, ``LOG_RATIO_DRAW_SD``)) over
    several draws, by 1 on one (truth: 1, the typical ratio)."""
    size = (replicates, case.draws, case.seeds)
    if case.statistic == "mean":
        values = sample(rng, size)
        if case.draws > 1:
            values = values + DRAW_EFFECT_SD * sample(rng, (replicates, case.draws, 1))
        return values, None, 0.0
    references = sample(rng, size)
    shared = rng.random(size) < case.pair_correlation
    values = np.where(shared, references, sample(rng, size))
    if case.draws > 1:
        values = values * np.exp(rng.normal(0.0, LOG_RATIO_DRAW_SD, (replicates, case.draws, 1)))
    return values, references, 1.0


def verdict_intervals(case: CoverageCase, values, references, confidence: float = CONFIDENCE):
    """The intervals ``estimate_mean`` / ``estimate_std_ratio`` give, for balanced runs
    (``values``, ``references``: arrays (replicates, draws, seeds)): ``low``, ``high``
    (replicates,)."""
    if case.statistic == "mean":
        if case.draws == 1:
            units = values[:, 0, :]
            low, high = calibrated_t_interval(units, confidence)
            flat = units.min(axis=1) == units.max(axis=1)
            return np.where(flat, math.nan, low), np.where(flat, math.nan, high)
        floor = values.var(axis=2, ddof=1).mean(axis=1) / case.seeds if case.seeds > 1 else 0.0
        return draw_means_interval(values.mean(axis=2), floor, confidence)
    if case.draws == 1:
        return std_ratio_interval(values[:, 0, :], references[:, 0, :], confidence)
    return log_ratio_t_interval(std_ratio(values, references), confidence)


def classical_intervals(case: CoverageCase, values, references, confidence: float = CONFIDENCE):
    """As ``verdict_intervals`` with the normal-theory quantiles: Student t on the seeds
    or the draw means, the F interval on one draw's std ratio (t on log ratios over
    draws, as there)."""
    if case.statistic == "mean":
        units = values[:, 0, :] if case.draws == 1 else values.mean(axis=2)
        return t_interval(units, confidence)
    if case.draws == 1:
        ratio = std_ratio(values[:, 0, :], references[:, 0, :])
        half = f_log_ratio_quantile(case.seeds, confidence)
        return ratio * math.exp(-half), ratio * math.exp(half)
    return log_ratio_t_interval(std_ratio(values, references), confidence)


COVERAGE_METHODS = {"verdict interval": verdict_intervals, "normal theory": classical_intervals}


def interval_coverage(
    cases=COVERAGE_CASES,
    shapes=None,
    methods=None,
    replicates: int = 4000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> pd.DataFrame:
    """Coverage of interval methods by simulation: per case (``CoverageCase``), shape
    (name -> sampler; ``REFERENCE_SHAPES`` by default) and method (name -> function
    (case, values, references, confidence) -> (low, high); ``COVERAGE_METHODS`` by
    default), the share of ``replicates`` simulated measurements (``simulated_runs``)
    whose interval holds the true statistic (``coverage``; no interval counts as a miss)
    and the mean and median width of the intervals (``width``, ``median_width``; means in
    units of the seeds' sd, std ratios at a true ratio 1). Seeded: every case and shape
    draws from its own stream of ``seed``, and every method sees the same runs. One row
    per case, shape and method."""
    shapes = REFERENCE_SHAPES if shapes is None else shapes
    methods = COVERAGE_METHODS if methods is None else methods
    rows = []
    for i, case in enumerate(cases):
        for j, (shape, sample) in enumerate(shapes.items()):
            rng = np.random.default_rng([seed, i, j])
            values, references, truth = simulated_runs(case, sample, replicates, rng)
            for method, intervals in methods.items():
                with np.errstate(all="ignore"):  # a draw without spread: no interval
                    low, high = intervals(case, values, references, confidence)
                    covered = (low <= truth) & (truth <= high)
                rows.append(
                    {
                        **asdict(case),
                        "shape": shape,
                        "method": method,
                        "coverage": float(covered.mean()),
                        "width": float(np.nanmean(high - low)),
                        "median_width": float(np.nanmedian(high - low)),
                    }
                )
    return pd.DataFrame(rows)
