"""A claim's value over runs with its interval (draws as a random effect), and the verdict
by where the interval lies against a threshold."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .intervals import (
    CALIBRATED_UP_TO,
    CONFIDENCE,
    at_bound_interval,
    calibrated_t_interval,
    draw_means_interval,
    log_ratio_t_interval,
    std_ratio,
    std_ratio_interval,
)

# --------------------------------------------------------------------------- verdicts

VERDICTS = ("holds", "fails", "inconclusive")
ONE_DRAW = "one draw"
NO_INTERVAL_OVER_DRAWS = "one draw: no interval over draws"
ONE_RUN = "one run: no interval"
NO_RUN = "no finished run"
NO_SPREAD = "the reference does not vary: no ratio"
NO_VARIATION = "the runs do not vary: no interval"
AT_BOUND_UNITS = "units at an end of the range"


@dataclass(frozen=True)
class Estimate:
    """A claim's statistic over runs: ``value``, its interval ``low``/``high`` (NaN where
    there is none), the method that gave the interval (``interval``, "" without one) and
    a ``note`` saying what limits it (one draw, one run, ...; "" when nothing does)."""

    value: float
    low: float
    high: float
    interval: str
    note: str = ""


def _notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _as_runs(runs) -> np.ndarray:
    """``runs`` as an array (n, c): a 1-D array is one column."""
    runs = np.asarray(runs, dtype=float)
    return runs[:, None] if runs.ndim == 1 else runs


def _by_draw(runs: np.ndarray, draws: np.ndarray) -> list[np.ndarray]:
    """``runs`` (rows) grouped by ``draws`` (one label per row), in first-seen order."""
    draws = np.asarray(draws)
    return [runs[draws == d] for d in dict.fromkeys(draws.tolist())]


def _no_variation(value: float, bounds, units: int, confidence: float, note: str) -> Estimate:
    """Runs that all have ``value``: the distribution-free ``at_bound_interval`` over
    ``units`` when it is an end of ``bounds``, else no interval."""
    low, high = at_bound_interval(value, bounds, units, confidence) if bounds else (math.nan,) * 2
    if math.isnan(low):
        return Estimate(value, math.nan, math.nan, "", _notes(NO_VARIATION, note))
    return Estimate(value, low, high, f"distribution-free, {units} {AT_BOUND_UNITS}", note)


def estimate_mean(
    runs,
    draws,
    over_draws: bool = False,
    confidence: float = CONFIDENCE,
    bounds: tuple[float, float] | None = None,
) -> Estimate:
    """The mean of the first column of ``runs`` (array (n, c): n finished runs, finite),
    ``draws`` (n,) naming each run's benchmark draw. Over two draws or more: the mean of
    the draw means, with ``draw_means_interval`` (D - 1 degrees of freedom: draws as a
    random effect, seeds averaged within each; the draw means' variance floored by the
    seeds'). Within one draw: the mean of its seeds with ``calibrated_t_interval`` over
    them, noted "one draw" (it covers the draw's own mean, not another draw's), or no
    interval when ``over_draws`` (the interval must cover another draw: the scorecard's
    pooled column). One run: no interval. Runs that all have one value (pooled: draw means
    that coincide over seeds that do not vary): the distribution-free
    ``at_bound_interval`` over the runs (pooled: over the draws) when the value is an end
    of ``bounds`` (lo, hi), the quantity's fixed range; else no interval (an interval of
    no width would claim a certainty that a few equal runs do not give)."""
    runs = _as_runs(runs)
    groups = _by_draw(runs[:, 0], draws)
    if not groups:
        return Estimate(math.nan, math.nan, math.nan, "", NO_RUN)
    if len(groups) > 1:
        means = np.array([g.mean() for g in groups])
        seeds = [g.var(ddof=1) / g.size for g in groups if g.size > 1]
        floor = float(np.mean(seeds)) if seeds else 0.0
        low, high = draw_means_interval(means, floor, confidence)
        if not math.isfinite(low):
            return _no_variation(float(means[0]), bounds, len(means), confidence, "")
        floored = " (variance floored by the seeds')" if floor > means.var(ddof=1) else ""
        return Estimate(
            float(means.mean()),
            float(low),
            float(high),
            f"calibrated t, {len(means)} draw means{floored}",
        )
    (values,) = groups
    if over_draws:
        return Estimate(float(values.mean()), math.nan, math.nan, "", NO_INTERVAL_OVER_DRAWS)
    if values.size < 2:
        return Estimate(float(values[0]), math.nan, math.nan, "", _notes(ONE_RUN, ONE_DRAW))
    if values.min() == values.max():
        return _no_variation(float(values[0]), bounds, values.size, confidence, ONE_DRAW)
    low, high = calibrated_t_interval(values, confidence)
    return Estimate(
        float(values.mean()),
        float(low),
        float(high),
        f"calibrated t, {values.size} seeds",
        ONE_DRAW,
    )


def exact_minimum(runs, draws, over_draws: bool = False) -> Estimate:
    """For "for every ..." statements over exact (noise-free) units: the smallest value of
    the first column of ``runs`` (array (n, c)), its own interval; noted "one draw" when
    ``draws`` (n,) name one (``over_draws`` changes nothing: exact units vary with no
    draw)."""
    runs = _as_runs(runs)
    if not len(runs):
        return Estimate(math.nan, math.nan, math.nan, "", NO_RUN)
    smallest = float(runs[:, 0].min())
    note = ONE_DRAW if len(set(np.asarray(draws).tolist())) == 1 else ""
    return Estimate(smallest, smallest, smallest, "exact", note)


def estimate_std_ratio(
    runs, draws, over_draws: bool = False, confidence: float = CONFIDENCE
) -> Estimate:
    """The std over seeds of ``runs[:, 0]`` (the value) over that of ``runs[:, 1]`` (the
    reference, paired by seed) per draw (``std_ratio``; ``runs``: array (n, 2) of finite
    pairs, ``draws`` (n,)). Over two draws or more with a positive ratio: their geometric
    mean, with ``log_ratio_t_interval`` (draws as a random effect; draws without a
    positive ratio are left out, and said). Within one draw: its ratio with
    ``std_ratio_interval`` over its seeds, noted "one draw"; no interval when
    ``over_draws``, with one pair, or when the reference does not vary."""
    runs = _as_runs(runs)
    if runs.shape[1] < 2:
        raise ValueError("a std ratio needs a reference column beside the value")
    groups = _by_draw(runs, draws)
    if not groups:
        return Estimate(math.nan, math.nan, math.nan, "", NO_RUN)
    ratios = np.array([std_ratio(g[:, 0], g[:, 1]) if len(g) > 1 else math.nan for g in groups])
    positive = ratios[np.isfinite(ratios) & (ratios > 0)]
    if len(groups) > 1:
        left_out = len(groups) - positive.size
        note = f"{left_out} of {len(groups)} draws without a std ratio left out" if left_out else ""
        if positive.size < 2:
            value = float(positive[0]) if positive.size else math.nan
            return Estimate(value, math.nan, math.nan, "", _notes(note, "fewer than two ratios"))
        low, high = log_ratio_t_interval(positive, confidence)
        value = float(np.exp(np.log(positive).mean()))
        return Estimate(
            value, float(low), float(high), f"t on log ratios, {positive.size} draws", note
        )
    (pairs,) = groups
    ratio = float(ratios[0])
    if over_draws:
        return Estimate(ratio, math.nan, math.nan, "", NO_INTERVAL_OVER_DRAWS)
    if len(pairs) < 2:
        return Estimate(math.nan, math.nan, math.nan, "", _notes(ONE_RUN, ONE_DRAW))
    if not math.isfinite(ratio):
        return Estimate(math.nan, math.nan, math.nan, "", _notes(NO_SPREAD, ONE_DRAW))
    low, high = std_ratio_interval(pairs[:, 0], pairs[:, 1], confidence)
    method = "calibrated F" if len(pairs) <= CALIBRATED_UP_TO else "F (normal runs assumed)"
    return Estimate(ratio, float(low), float(high), f"{method}, {len(pairs)} seeds", ONE_DRAW)


def verdict(low: float, high: float, threshold: float, direction: str) -> str:
    """Where the interval lies against the threshold: the claim *holds* when the whole
    interval is on its side (``direction`` "above": value > threshold; "below": value <
    threshold; "at_least" / "at_most" include the threshold), *fails* when the whole
    interval is on the other side, and is *inconclusive* otherwise (or without an
    interval)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return "inconclusive"
    sides = {
        "above": (low > threshold, high <= threshold),
        "at_least": (low >= threshold, high < threshold),
        "below": (high < threshold, low >= threshold),
        "at_most": (high <= threshold, low > threshold),
    }
    if direction not in sides:
        raise ValueError(f"direction must be one of {list(sides)}, got {direction!r}")
    holds, fails = sides[direction]
    return "holds" if holds else "fails" if fails else "inconclusive"
