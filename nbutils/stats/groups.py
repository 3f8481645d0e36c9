"""Statistics of groups of runs: means and spreads, bands over seeds, paired differences."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

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
