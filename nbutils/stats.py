"""Statistics of many runs, the intervals and thresholds every verdict uses. Computes,
never plots.

Inputs are long tables, one row per run (``finals``) or per step and run
(``histories``), with a ``diverged_at`` column where runs can diverge. Every function
here is pure (numpy, pandas, scipy); none imports the rest of the package, so the engine
(tuning) and the studies (tables, claims) share one definition of each.

The thresholds of NGDiff's Table 1 and Sec. 5, with one comparison each:

- a run **forgets** when its ROUGE_F (Verbmem; on images: its forget accuracy FA) is
  below ``FORGET_BELOW`` = 0.1 (``forgets``);
- it **keeps utility** when its ROUGE_R (or TruthRatio) is at least ``KEEP_SHARE`` = 0.7
  x No-unlearn's (``keeps_utility``; Table 1: "maintain at least 70% of the Model utility
  and the TruthRatio compared to the No-unlearn");
- it **loses utility** when its ROUGE_R is at most ``LOST_AT_MOST`` = 0.3 x No-unlearn's
  (``loses_utility``; Sec. 5.4: "other methods retains only 0 ~ 30% Utility").

The 95% intervals of the verdicts (``estimate_mean``, ``estimate_std_ratio``,
``exact_minimum``; ``verdict`` reads them against a threshold) treat benchmark draws as a
random effect: over several draws the interval is over the draw means (D - 1 degrees of
freedom), seeds averaged within each draw; within one draw it is over the seeds, and
says "one draw"; one run has none. A mean's interval has the t interval's form, mean -+
q s / sqrt(k), with q calibrated (``calibrated_t_quantile``) so that it covers the mean
at 95% or more for normal and skewed runs (``REFERENCE_SHAPES``: lognormal,
exponential, a [0, 1] quantity piled near 0): at 3 seeds Student's t covers such runs
only 84-90% of the time, and q is about 3 times t's. A std ratio's interval within one
draw is the F interval widened the same way (``calibrated_log_ratio_quantile``), over
draws a t interval on the log ratios. ``interval_coverage`` shows the coverage by
simulation at the sizes the notebooks use (``benchmarks/coverage.py`` prints it, with
the shapes beyond the calibration: within one draw, a lognormal of sigma 1.5 or a run
that collapses one time in five is covered only 80-90% of the time).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

FORGET_BELOW = 0.1
KEEP_SHARE = 0.7
LOST_AT_MOST = 0.3


def forgets(rouge_forget):
    """ROUGE_F (or FA) below 0.1 (Table 1: Verbmem < 0.1). NaN never forgets."""
    return np.asarray(rouge_forget, dtype=float) < FORGET_BELOW


def keeps_utility(relative_utility):
    """ROUGE_R (or TruthRatio) / No-unlearn's at least 0.7 (Table 1). NaN never keeps."""
    return np.asarray(relative_utility, dtype=float) >= KEEP_SHARE


def loses_utility(relative_utility):
    """ROUGE_R / No-unlearn's at most 0.3 (Sec. 5.4's "0 ~ 30%"); NaN, a run with no
    value, counts as lost."""
    value = np.asarray(relative_utility, dtype=float)
    return ~(value > LOST_AT_MOST)


# --------------------------------------------------------------------------- groups


def diverged_mask(table: pd.DataFrame) -> pd.Series:
    """Which rows are runs that diverged (``diverged_at`` set)."""
    if "diverged_at" not in table:
        return pd.Series(False, index=table.index)
    return table["diverged_at"].notna()


def group_stats(
    table: pd.DataFrame, by: str | Sequence[str], columns: Sequence[str]
) -> pd.DataFrame:
    """Per group, in the order groups first appear, over the runs that finished:
    ``<column>_mean``, ``<column>_std`` (ddof=1; NaN with fewer than two finite values)
    and ``<column>_n`` (finite values); ``runs`` (all runs of the group) and ``diverged``
    (runs that diverged, left out of the statistics). One row per group, the group's key
    in the ``by`` columns."""
    by = [by] if isinstance(by, str) else list(by)
    rows = []
    for key, group in table.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        row = dict(zip(by, key))
        diverged = diverged_mask(group).to_numpy()
        finished = group[~diverged]
        for column in columns:
            values = (
                finished[column].astype(float).to_numpy() if column in finished else np.array([])
            )
            values = values[np.isfinite(values)]
            row[f"{column}_mean"] = float(values.mean()) if values.size else math.nan
            row[f"{column}_std"] = float(values.std(ddof=1)) if values.size > 1 else math.nan
            row[f"{column}_n"] = int(values.size)
        row["runs"] = len(group)
        row["diverged"] = int(diverged.sum())
        rows.append(row)
    names = [f"{c}_{s}" for c in columns for s in ("mean", "std", "n")]
    return pd.DataFrame(rows, columns=[*by, *names, "runs", "diverged"])


def spread(values) -> float:
    """max - min of the finite values (NaN when there are none): a rule's sensitivity
    to its learning rate, from its per-rate means."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return float(values.max() - values.min()) if values.size else math.nan


def bands(histories: pd.DataFrame, column: str, by: str = "label", x: str = "step") -> pd.DataFrame:
    """Per ``by`` and ``x``, over runs (seeds): ``mean``, ``std`` (ddof=1, 0 with one run),
    the band ``low``/``high`` = mean -+ std, ``min``, ``max`` and ``n`` (runs present at
    that x: a diverged run stops early). Rows where ``column`` is missing (a loss at the
    final evaluation row, a ROUGE between evaluations) are skipped; groups keep their
    first-seen order."""
    present = histories[histories[column].notna()]
    present = present.assign(**{column: present[column].astype(float)})
    stats = present.groupby([by, x], sort=False)[column].agg(["mean", "std", "min", "max", "count"])
    out = stats.reset_index().rename(columns={"count": "n"})
    out["std"] = out["std"].fillna(0.0)
    out["low"] = out["mean"] - out["std"]
    out["high"] = out["mean"] + out["std"]
    order = {label: i for i, label in enumerate(dict.fromkeys(histories[by]))}
    out = out.assign(order=out[by].map(order)).sort_values(["order", x], kind="stable")
    return out[[by, x, "mean", "low", "high", "std", "min", "max", "n"]].reset_index(drop=True)


def geometric_bands(
    histories: pd.DataFrame, column: str, by: str = "label", x: str = "step"
) -> pd.DataFrame:
    """``bands`` for a positive quantity drawn on a log axis (a loss): per ``by`` and
    ``x``, the geometric mean ``mean`` = exp(mean log v), the band ``low``/``high`` =
    mean / s and mean * s with s = exp(std log v) (the geometric standard deviation,
    ddof=1, 1 with one run), so the band never reaches 0 and is symmetric on the log
    axis; ``std`` is the std of log v; ``min``, ``max``, ``n`` as in ``bands``. Values
    that are not positive (no logarithm) are skipped like missing ones."""
    present = histories[histories[column].notna()]
    values = present[column].astype(float)
    present = present[values > 0].assign(log=np.log(values[values > 0]))
    out = bands(present, "log", by, x)
    out[["min", "max"]] = np.exp(out[["min", "max"]])
    out["low"] = np.exp(out["mean"] - out["std"])
    out["high"] = np.exp(out["mean"] + out["std"])
    out["mean"] = np.exp(out["mean"])
    order = {label: i for i, label in enumerate(dict.fromkeys(histories[by]))}
    out = out.assign(order=out[by].map(order)).sort_values(["order", x], kind="stable")
    return out.drop(columns="order").reset_index(drop=True)


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


# --------------------------------------------------------------------------- rates


def rates_that_diverged(table: pd.DataFrame) -> pd.Series:
    """Rows of a rate table with a diverged run: ``diverged`` counts (a median table)
    or ``diverged_at`` (one run per rate)."""
    return table["diverged"] > 0 if "diverged" in table else diverged_mask(table)


def _with_columns(table: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``table`` with every column of ``columns`` (NaN where missing: no run finished)."""
    missing = [c for c in columns if c not in table]
    return table.assign(**{c: math.nan for c in missing}) if missing else table


def rank_rates(
    table: pd.DataFrame, forget: str = "rouge_forget", keep: str = "rouge_retain"
) -> list[float]:
    """The rates of ``table`` (one row per rate: ``lr``, the two metrics, and ``diverged``
    counts or ``diverged_at``) from best to worst by the rate-choosing rule: first the
    rates that forget (``forget`` below ``FORGET_BELOW``) by highest ``keep``; then the
    others by lowest ``forget`` (then highest ``keep``); last, rates with a diverged run
    or no value. Ties go to the smaller rate. Successive halving keeps the head of this
    order; ``choose_rate`` takes its first rate."""
    table = _with_columns(table, forget, keep)
    usable = ~rates_that_diverged(table) & table[forget].notna() & table[keep].notna()
    good, bad = table[usable], table[~usable]
    forgetting = good[forgets(good[forget])]
    others = good[~forgets(good[forget])]
    order = [
        forgetting.sort_values([keep, "lr"], ascending=[False, True]),
        others.sort_values([forget, keep, "lr"], ascending=[True, False, True]),
        bad.sort_values("lr"),
    ]
    return [float(lr) for part in order for lr in part["lr"]]


def choose_rate(
    table: pd.DataFrame,
    forget: str = "rouge_forget",
    keep: str = "rouge_retain",
    names: tuple[str, str] = ("ROUGE_F", "ROUGE_R"),
) -> tuple[float, str]:
    """The rate-choosing rule: the first rate of ``rank_rates`` (the highest ``keep``
    among the rates that forget; if none forgets, the lowest ``forget``, then the highest
    ``keep``; a rate with a diverged run is never chosen). Returns the rate and, in words,
    the rule that picked it (``names`` of the two metrics). Raises ``ValueError`` when
    every rate diverged."""
    table = _with_columns(table, forget, keep)
    usable = table[~rates_that_diverged(table) & table[forget].notna() & table[keep].notna()]
    if usable.empty:
        raise ValueError(f"every rate of the grid diverged: {list(table.lr)}")
    best = rank_rates(table, forget, keep)[0]
    value = float(usable.loc[usable["lr"] == best, forget].iloc[0])
    if forgets(value):
        return best, f"highest {names[1]} among rates with {names[0]} < {FORGET_BELOW}"
    return best, f"no rate reached {names[0]} < {FORGET_BELOW}: lowest {names[0]}"


# --------------------------------------------------------------------------- verdicts

VERDICTS = ("holds", "fails", "inconclusive")
ONE_DRAW = "one draw"
NO_INTERVAL_OVER_DRAWS = "one draw: no interval over draws"
ONE_RUN = "one run: no interval"
NO_RUN = "no finished run"
NO_SPREAD = "the reference does not vary: no ratio"


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


def estimate_mean(
    runs, draws, over_draws: bool = False, confidence: float = CONFIDENCE
) -> Estimate:
    """The mean of the first column of ``runs`` (array (n, c): n finished runs, finite),
    ``draws`` (n,) naming each run's benchmark draw. Over two draws or more: the mean of
    the draw means, with ``calibrated_t_interval`` on the draw means (D - 1 degrees of
    freedom: draws as a random effect, seeds averaged within each). Within one draw: the
    mean of its seeds with the same interval over them, noted "one draw" (it covers the
    draw's own mean, not another draw's), or no interval when ``over_draws`` (the
    interval must cover another draw: the scorecard's pooled column). One run: no
    interval."""
    runs = _as_runs(runs)
    groups = _by_draw(runs[:, 0], draws)
    if not groups:
        return Estimate(math.nan, math.nan, math.nan, "", NO_RUN)
    if len(groups) > 1:
        means = np.array([g.mean() for g in groups])
        low, high = calibrated_t_interval(means, confidence)
        return Estimate(
            float(means.mean()), float(low), float(high), f"calibrated t, {len(means)} draw means"
        )
    (values,) = groups
    if over_draws:
        return Estimate(float(values.mean()), math.nan, math.nan, "", NO_INTERVAL_OVER_DRAWS)
    if values.size < 2:
        return Estimate(float(values[0]), math.nan, math.nan, "", _notes(ONE_RUN, ONE_DRAW))
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


def paired_differences(table: pd.DataFrame, value: str, a: str, b: str, by: str = "label"):
    """``value`` of ``a`` minus that of ``b`` for every (draw, seed) both ran: the paired
    comparison the engine's seeded streams allow (equal seeds, equal batches). Returns a
    frame with ``draw``, ``seed`` and ``difference`` (NaN where either diverged)."""
    keys = [k for k in ("draw", "seed") if k in table]
    left = table[table[by] == a].set_index(keys)[value]
    right = table[table[by] == b].set_index(keys)[value]
    both = left.index.intersection(right.index)
    out = (left.loc[both] - right.loc[both]).rename("difference").reset_index()
    if "draw" not in out:
        out["draw"] = 0
    return out


def probability_of_improvement(x, y) -> float:
    """P(X > Y) + P(X = Y) / 2 estimated over all pairs: the Mann-Whitney U statistic
    divided by n_x n_y (rliable's ``probability_of_improvement``)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    x, y = x[np.isfinite(x)], y[np.isfinite(y)]
    if not (x.size and y.size):
        return math.nan
    greater = (x[:, None] > y[None, :]).sum()
    ties = (x[:, None] == y[None, :]).sum()
    return float((greater + 0.5 * ties) / (x.size * y.size))


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
        units = values[:, 0, :] if case.draws == 1 else values.mean(axis=2)
        return calibrated_t_interval(units, confidence)
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
