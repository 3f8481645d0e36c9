"""Statistics of many runs, and the thresholds every verdict uses. Computes, never plots.

Inputs are long tables, one row per run (``finals``) or per step and run
(``histories``), with a ``diverged_at`` column where runs can diverge. Every function
here is pure (numpy, pandas, scipy); none imports the rest of the package, so the engine
(tuning) and the studies (tables, claims) share one definition of each.

The thresholds of NGDiff's Table 1 and Sec. 5, with one comparison each:

- a run **forgets** when its ROUGE_F (Verbmem; on images: its forget accuracy FA) is
  below ``FORGET_BELOW`` = 0.1 (``forgets``);
- it **keeps utility** when its ROUGE_R is at least ``KEEP_SHARE`` = 0.9 x No-unlearn's
  (``keeps_utility``);
- it **loses utility** when its ROUGE_R is below ``LOSE_BELOW`` = 0.7 x No-unlearn's
  (``loses_utility``); Table 1 marks a Utility or TruthRatio cell a success when it is
  not lost, i.e. at least 0.7 x No-unlearn's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

FORGET_BELOW = 0.1
KEEP_SHARE = 0.9
LOSE_BELOW = 0.7


def forgets(rouge_forget):
    """ROUGE_F (or FA) below 0.1 (Table 1: Verbmem < 0.1). NaN never forgets."""
    return np.asarray(rouge_forget, dtype=float) < FORGET_BELOW


def keeps_utility(relative_utility):
    """ROUGE_R / No-unlearn's ROUGE_R at least 0.9."""
    return np.asarray(relative_utility, dtype=float) >= KEEP_SHARE


def loses_utility(relative_utility):
    """ROUGE_R / No-unlearn's ROUGE_R below 0.7 (NaN, a diverged run, counts as lost)."""
    value = np.asarray(relative_utility, dtype=float)
    return ~(value >= LOSE_BELOW)


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


def t_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean (NaN with fewer than two values)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return math.nan, math.nan
    half = (
        stats.t.ppf((1 + confidence) / 2, values.size - 1)
        * values.std(ddof=1)
        / math.sqrt(values.size)
    )
    return float(values.mean() - half), float(values.mean() + half)


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

CONFIDENCE = 0.95
BOOTSTRAP_REPS = 2000
BOOTSTRAP_SEED = 0
VERDICTS = ("holds", "fails", "inconclusive")


def stratified_bootstrap(
    values,
    strata,
    statistic=None,
    *,
    reps: int = BOOTSTRAP_REPS,
    confidence: float = CONFIDENCE,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float, float]:
    """Point estimate and percentile interval of ``statistic`` over runs, resampling runs
    within each stratum (benchmark draws as strata, unlearning seeds as runs), as
    rliable's ``get_interval_estimates`` does, with a fixed random state.

    ``values``: one row per run (a 1-D array, or 2-D with a run's paired columns kept
    together); rows with a non-finite entry are dropped first (NaN everywhere without
    one). ``statistic(values, strata)`` maps the (resampled) rows and their strata to a
    number; the default is the mean of the first column. A stratum with one run
    contributes that run to every resample."""
    values = np.asarray(values, dtype=float)
    values = values.reshape(len(values), -1)
    strata = np.asarray(strata)
    keep = np.isfinite(values).all(axis=1)
    values, strata = values[keep], strata[keep]
    if statistic is None:
        statistic = lambda v, s: float(np.mean(v[:, 0]))  # noqa: E731
    if len(values) == 0:
        return math.nan, math.nan, math.nan
    point = float(statistic(values, strata))
    rng = np.random.default_rng(seed)
    groups = [np.flatnonzero(strata == s) for s in dict.fromkeys(strata.tolist())]
    draws = np.empty(reps)
    for i in range(reps):
        rows = np.concatenate([g[rng.integers(0, g.size, g.size)] for g in groups])
        draws[i] = statistic(values[rows], strata[rows])
    tail = (1 - confidence) / 2
    low, high = np.nanquantile(draws, [tail, 1 - tail])
    return point, float(low), float(high)


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
