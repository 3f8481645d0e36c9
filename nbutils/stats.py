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


def choose_rate(
    table: pd.DataFrame,
    forget: str = "rouge_forget",
    keep: str = "rouge_retain",
    names: tuple[str, str] = ("ROUGE_F", "ROUGE_R"),
) -> tuple[float, str]:
    """The rate-choosing rule, on a table with one row per rate (``lr``, the two metrics,
    and ``diverged`` counts or ``diverged_at``): the highest ``keep`` among the rates
    that forget (``forget`` below ``FORGET_BELOW``); if none forgets, the lowest
    ``forget`` (then the highest ``keep``). Rates with a diverged run are never chosen;
    remaining ties go to the smaller rate. Returns the rate and, in words, the rule that
    picked it (``names`` of the two metrics). Raises ``ValueError`` when every rate
    diverged."""
    diverged = table["diverged"] > 0 if "diverged" in table else diverged_mask(table)
    usable = table[~diverged & table[forget].notna() & table[keep].notna()]
    if usable.empty:
        raise ValueError(f"every rate of the grid diverged: {list(table.lr)}")
    forgetting = usable[forgets(usable[forget])]
    if not forgetting.empty:
        best = forgetting.sort_values([keep, "lr"], ascending=[False, True]).iloc[0]
        return float(best.lr), f"highest {names[1]} among rates with {names[0]} < {FORGET_BELOW}"
    best = usable.sort_values([forget, keep, "lr"], ascending=[True, False, True]).iloc[0]
    return float(best.lr), f"no rate reached {names[0]} < {FORGET_BELOW}: lowest {names[0]}"
