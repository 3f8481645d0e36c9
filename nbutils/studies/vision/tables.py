"""The slides' image tables (DualOptim; NGDiff Table 4's numbers): per method, mean ± std
over seeds of every metric, and its *Gap* and *Std*, computed as the authors'
``parse_result.py`` computes them, with the official MIA: Gap = mean over FA, RA, TA,
MIA_entropy of |mean over seeds - RT's mean|, Std = mean over the same four of np.std
over seeds (ddof 0). A run forgets when its FA is below ``stats.FORGET_BELOW``, the
threshold of every notebook.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ... import stats
from .runs import CLASS_METRICS, GAP_METRICS, METRICS


def gap_to_reference(means: pd.DataFrame, reference: str = "RT", metrics=GAP_METRICS) -> pd.Series:
    """The slides' Gap (``parse_result.py``): per row, mean over FA, RA, TA and the
    official MIA of |mean - the reference row's mean|; NaN without a reference row."""
    cols = list(metrics)
    if reference not in means.index:
        return pd.Series(math.nan, index=means.index)
    return (means[cols] - means.loc[reference, cols]).abs().mean(axis=1)


def std_column(stds: pd.DataFrame, metrics=GAP_METRICS) -> pd.Series:
    """The slides' Std (``parse_result.py``): per row, the mean over FA, RA, TA and the
    official MIA of np.std over seeds (ddof 0: pass such stds)."""
    return stds[list(metrics)].mean(axis=1)


def summarize(runs: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """One row per label (index, in run order) for one scenario: ``<metric>_mean`` and
    ``<metric>_std`` (np.std over seeds, ddof 0, as ``parse_result.py``) over the
    finished runs, Gap to RT and Std with the official MIA (``gap_to_reference``,
    ``std_column``; Gap is NaN without RT), and ``runs`` / ``diverged`` counts."""
    rows = runs[runs.scenario == scenario]
    columns = [c for c in (*METRICS, *CLASS_METRICS) if c in rows and rows[c].notna().any()]
    labels = list(dict.fromkeys(rows.label))
    diverged = stats.diverged_mask(rows)
    finished = rows[~diverged].groupby("label", sort=False)[columns]
    means = finished.mean().reindex(labels)
    stds = finished.std(ddof=0).reindex(labels)
    out = pd.DataFrame(index=pd.Index(labels, name="label"))
    for c in columns:
        out[f"{c}_mean"], out[f"{c}_std"] = means[c], stds[c]
    official = all(m in columns for m in GAP_METRICS)
    out["Gap"] = gap_to_reference(means) if official else math.nan
    out["Std"] = std_column(stds) if official else math.nan
    out["runs"] = rows.groupby("label", sort=False).size().reindex(labels)
    out["diverged"] = diverged.groupby(rows.label, sort=False).sum().reindex(labels).astype(int)
    return out


COLUMN_NAMES = {
    "MIA_entropy": "MIA (official: entropy)",
    "MIA": "MIA (ours: loss + confidence)",
}


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """``summarize``'s table as the slides print it: "mean ± std" cells (std ddof 0),
    each MIA named by its attack, then Gap and Std (both with the official MIA)."""
    out = pd.DataFrame(index=table.index)
    metrics = [c.removesuffix("_mean") for c in table.columns if c.endswith("_mean")]
    for metric in metrics:
        out[COLUMN_NAMES.get(metric, metric)] = [
            f"{m:.3f} ± {s:.3f}" for m, s in zip(table[f"{metric}_mean"], table[f"{metric}_std"])
        ]
    for column in ("Gap", "Std", "runs", "diverged"):
        out[column] = table[column].round(3)
    return out


def closest_to_reference(table: pd.DataFrame, candidates: list[str]) -> tuple[str, float]:
    """Among ``candidates``, the label with the smallest Gap to RT, and that Gap."""
    gaps = table.loc[candidates, "Gap"]
    return gaps.idxmin(), float(gaps.min())


def best_retainer(table: pd.DataFrame, candidates: list[str]) -> tuple[str | None, float]:
    """Among ``candidates`` whose mean FA forgets (``stats.forgets``), the label with the
    highest mean RA and that RA (None, NaN when none forgets)."""
    rows = table.loc[candidates]
    forgetting = rows[stats.forgets(rows["FA_mean"])]
    if forgetting.empty:
        return None, math.nan
    label = forgetting["RA_mean"].idxmax()
    return label, float(forgetting.loc[label, "RA_mean"])


def table_claims(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per label: mean and std of each metric, Gap and Std (finite numbers only)."""
    out = {}
    for label, row in table.iterrows():
        out[label] = {k: float(v) for k, v in row.items() if np.isfinite(v)}
    return out
