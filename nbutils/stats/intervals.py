"""95% intervals whose quantiles are calibrated to cover skewed runs too, and the classical
ones they widen (Student t, chi-square, F)."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np

# --------------------------------------------------------------------------- intervals

CONFIDENCE = 0.95


def variance_interval(var, n: int, confidence: float = 0.95):
    """Chi-square interval for a variance of ``n`` Gaussian values (ddof=1)."""
    from scipy import stats

    dof, tail = n - 1, (1 - confidence) / 2
    var = np.asarray(var, dtype=float)
    return var * dof / stats.chi2.ppf(1 - tail, dof), var * dof / stats.chi2.ppf(tail, dof)


def ratio_interval(ratio, n: int, confidence: float = 0.95):
    """F interval for a ratio of two variances, each of ``n`` independent Gaussian values."""
    from scipy import stats

    dof, tail = n - 1, (1 - confidence) / 2
    ratio = np.asarray(ratio, dtype=float)
    return ratio / stats.f.ppf(1 - tail, dof, dof), ratio / stats.f.ppf(tail, dof, dof)


# The run-to-run shapes the intervals are calibrated on, each a sampler (rng, size) ->
# values standardized to mean 0 and sd 1: the normal; a lognormal of sigma 1 (skewness
# 6.2); the exponential (skewness 2); Beta(0.5, 5), bounded and piled near 0 with a long
# right tail, as a ROUGE_F that mostly forgets (mean 0.09; this collection's draws have
# ROUGE_F runs such as 0.156, 0.003, 0.0).
LOGNORMAL_SIGMA = 1.0
BETA_NEAR_ZERO = (0.5, 5.0)


def _normal(rng: np.random.Generator, size) -> np.ndarray:
    return rng.standard_normal(size)


def _lognormal(rng: np.random.Generator, size) -> np.ndarray:
    s2 = LOGNORMAL_SIGMA**2
    mean, sd = math.exp(s2 / 2), math.sqrt((math.exp(s2) - 1) * math.exp(s2))
    return (rng.lognormal(0.0, LOGNORMAL_SIGMA, size) - mean) / sd


def _exponential(rng: np.random.Generator, size) -> np.ndarray:
    return rng.exponential(1.0, size) - 1.0


def _beta_near_zero(rng: np.random.Generator, size) -> np.ndarray:
    a, b = BETA_NEAR_ZERO
    mean, sd = a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    return (rng.beta(a, b, size) - mean) / sd


REFERENCE_SHAPES: dict[str, Callable[[np.random.Generator, tuple], np.ndarray]] = {
    "normal": _normal,
    "lognormal": _lognormal,
    "exponential": _exponential,
    "beta near 0": _beta_near_zero,
}
CALIBRATION_SHAPES = tuple(REFERENCE_SHAPES)
CALIBRATION_REPLICATES = 100_000
CALIBRATION_SEED = 0
CALIBRATED_UP_TO = 30  # the most units (or pairs) the quantiles are simulated for


def _check_units(units: int) -> None:
    if units < 2:
        raise ValueError(f"an interval needs at least two units, got {units}")


@functools.cache
def calibrated_t_quantile(
    units: int, confidence: float = CONFIDENCE, shapes: tuple[str, ...] = CALIBRATION_SHAPES
) -> float:
    """The multiplier q of the interval mean -+ q s / sqrt(units) (s: std, ddof=1) that
    covers the mean at ``confidence`` for every one of ``shapes`` (``REFERENCE_SHAPES``
    names): the largest over them of the ``confidence`` quantile of |mean - mu| /
    (s / sqrt(units)) in samples of ``units`` independent values, simulated
    (``CALIBRATION_REPLICATES`` samples per shape, seeded: the same number every call).
    With ``shapes=("normal",)`` it is Student's t quantile up to simulation error; with
    skewed shapes it is larger, since a small sample that misses the long tail has both
    its mean and its spread too small. Above ``CALIBRATED_UP_TO`` units it is that many
    units' quantile (larger than needed: the quantiles fall as units grow)."""
    _check_units(units)
    units = min(units, CALIBRATED_UP_TO)
    quantiles = []
    for name in shapes:
        sample = REFERENCE_SHAPES[name](
            np.random.default_rng(CALIBRATION_SEED), (CALIBRATION_REPLICATES, units)
        )
        studentized = np.abs(sample.mean(1)) / (sample.std(1, ddof=1) / math.sqrt(units))
        quantiles.append(np.quantile(studentized, confidence))
    return float(max(quantiles))


@functools.cache
def calibrated_log_ratio_quantile(
    pairs: int, confidence: float = CONFIDENCE, shapes: tuple[str, ...] = CALIBRATION_SHAPES
) -> float:
    """The half-width h, on the log scale, of the interval ratio * exp(-+h) for a ratio of
    two standard deviations, each of ``pairs`` values (``pairs`` at most
    ``CALIBRATED_UP_TO``): the largest over ``shapes`` of the ``confidence`` quantile of
    |log(std(x) / std(y))| for independent x and y of that shape, simulated as in
    ``calibrated_t_quantile``. With ``shapes=("normal",)`` it is the F interval's (half of
    log F((1 + confidence) / 2; pairs - 1, pairs - 1)) up to simulation error. Pairs that
    are correlated (one seed for both) make the ratio less variable: the interval is then
    wider than it needs to be."""
    _check_units(pairs)
    if pairs > CALIBRATED_UP_TO:
        raise ValueError(f"calibrated up to {CALIBRATED_UP_TO} pairs, got {pairs}")
    quantiles = []
    for name in shapes:
        rng = np.random.default_rng(CALIBRATION_SEED)
        values = REFERENCE_SHAPES[name](rng, (CALIBRATION_REPLICATES, pairs))
        references = REFERENCE_SHAPES[name](rng, (CALIBRATION_REPLICATES, pairs))
        log_ratios = np.log(values.std(1) / references.std(1))
        quantiles.append(np.quantile(np.abs(log_ratios), confidence))
    return float(max(quantiles))


def f_log_ratio_quantile(pairs: int, confidence: float = CONFIDENCE) -> float:
    """The F interval's half-width on the log scale for a ratio of two standard deviations
    of ``pairs`` independent normal values each: half of log F((1 + confidence) / 2;
    pairs - 1, pairs - 1)."""
    from scipy import stats

    _check_units(pairs)
    return 0.5 * math.log(stats.f.ppf((1 + confidence) / 2, pairs - 1, pairs - 1))


def mean_interval(units, multiplier: float) -> tuple[np.ndarray, np.ndarray]:
    """mean -+ ``multiplier`` s / sqrt(k) over the last axis of ``units`` (array (..., k)
    of finite values; s: std, ddof=1). Returns ``low``, ``high`` of shape (...); NaN with
    fewer than two units."""
    units = np.asarray(units, dtype=float)
    k = units.shape[-1]
    if k < 2:
        nan = np.full(units.shape[:-1], math.nan)
        return nan, nan
    mean = units.mean(axis=-1)
    half = multiplier * units.std(axis=-1, ddof=1) / math.sqrt(k)
    return mean - half, mean + half


def t_interval(units, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Student-t interval of the mean over the last axis of ``units`` (array (..., k),
    k - 1 degrees of freedom): exact for normal units. NaN with fewer than two."""
    from scipy import stats

    k = np.shape(units)[-1]
    multiplier = stats.t.ppf((1 + confidence) / 2, k - 1) if k > 1 else math.nan
    return mean_interval(units, multiplier)


def calibrated_t_interval(units, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """The t interval's form with ``calibrated_t_quantile`` for its multiplier: covers the
    mean for normal and skewed units alike (``REFERENCE_SHAPES``). ``units``: array
    (..., k); NaN with fewer than two."""
    k = np.shape(units)[-1]
    return mean_interval(units, calibrated_t_quantile(k, confidence) if k > 1 else math.nan)


def draw_means_interval(
    means, seed_variance_of_mean, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """``calibrated_t_interval`` over the last axis of the draw means ``means`` (array
    (..., D)), with their variance floored by ``seed_variance_of_mean`` (array (...)): the
    mean over draws of s_d^2 / n_d, each draw's seeds' variance over its seed count.
    Draws as a random effect give Var(draw mean) = tau^2 + sigma^2 / n >= sigma^2 / n, so
    draw means that happen to coincide (runs that take few values) do not make an
    interval of no width while the seeds vary. NaN with fewer than two draws, and where
    neither the draw means nor the seeds vary (no spread to build an interval on)."""
    means = np.asarray(means, dtype=float)
    d = means.shape[-1]
    if d < 2:
        nan = np.full(means.shape[:-1], math.nan)
        return nan, nan
    variance = np.maximum(means.var(axis=-1, ddof=1), seed_variance_of_mean)
    half = calibrated_t_quantile(d, confidence) * np.sqrt(variance / d)
    half = np.where(variance > 0, half, math.nan)
    centre = means.mean(axis=-1)
    return centre - half, centre + half


def at_bound_interval(
    value: float, bounds: tuple[float, float], units: int, confidence: float = CONFIDENCE
) -> tuple[float, float]:
    """The interval of the mean of a quantity that lies in ``bounds`` (lo, hi) when all
    ``units`` independent units equal ``value``, one of its ends: from that end inward by
    (hi - lo) (1 - tail^(1/units)), tail = (1 - confidence) / 2 (Clopper-Pearson: if the
    share p of units off that end were larger, all ``units`` on it would have chance
    (1 - p)^units < tail; the mean is at most (hi - lo) p from the end). Distribution-free.
    NaN where ``value`` is at neither end."""
    lo, hi = bounds
    reach = (hi - lo) * (1 - ((1 - confidence) / 2) ** (1 / units))
    if value == lo:
        return lo, lo + reach
    if value == hi:
        return hi - reach, hi
    return math.nan, math.nan


def std_ratio(values, references) -> np.ndarray:
    """np.std (ddof 0, DualOptim's parse_result) of ``values`` over that of
    ``references``, over the last axis (arrays (..., n), paired by seed); NaN where the
    references do not vary."""
    own = np.std(np.asarray(values, dtype=float), axis=-1)
    reference = np.std(np.asarray(references, dtype=float), axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(reference > 0, own / reference, math.nan)


def std_ratio_interval(
    values, references, confidence: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of the ratio of the standard deviations of ``values`` and ``references``
    (arrays (..., n), n pairs over the last axis): ratio * exp(-+h), h the
    ``calibrated_log_ratio_quantile`` of n pairs (the F interval widened to cover skewed
    runs too). Above ``CALIBRATED_UP_TO`` pairs, h is the F interval's: normal runs
    assumed. NaN with fewer than two pairs or references that do not vary."""
    ratio = std_ratio(values, references)
    n = np.shape(values)[-1]
    if n < 2:
        return np.full_like(ratio, math.nan), np.full_like(ratio, math.nan)
    if n <= CALIBRATED_UP_TO:
        half = calibrated_log_ratio_quantile(n, confidence)
    else:
        half = f_log_ratio_quantile(n, confidence)
    return ratio * math.exp(-half), ratio * math.exp(half)


def log_ratio_t_interval(ratios, confidence: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Interval of the typical ratio over draws: exp of the Student-t interval of the mean
    of log ``ratios`` (array (..., D) of positive per-draw ratios; D - 1 degrees of
    freedom). When value and reference runs have one shape (a scale apart) and as many
    seeds, a draw's log std ratio is symmetric about its true log ratio, and a t interval
    on symmetric values covers skewed runs too (``interval_coverage``)."""
    low, high = t_interval(np.log(np.asarray(ratios, dtype=float)), confidence)
    return np.exp(low), np.exp(high)
