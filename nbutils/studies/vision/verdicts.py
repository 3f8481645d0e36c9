"""The claims of notebook 08 (ids ``ngdiff.table4.*``): NGDiff Table 4's "all methods
reduce the forget accuracy to 0" and "the retaining accuracy of NGDiff remains the
highest", per seed, class task (``claim_measurements``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import claims, stats
from .runs import TABLE4

ALL_FORGET = "ngdiff.table4.all_methods_forget_the_class"
NGDIFF_HIGHEST_RA = "ngdiff.table4.ngdiff_highest_retain_accuracy"
CLAIMS = (ALL_FORGET, NGDIFF_HIGHEST_RA)
NGDIFF_LABEL = "NGDiff+AutoLR"  # the paper's NGDiff: "we utilize AutoLR for NGDiff"
OTHERS = ("GDiff-0.9", "GDiff-0.5", "GDiff-0.1", "LossNorm")  # Table 4's other methods


def _class_runs(runs: pd.DataFrame, labels) -> pd.DataFrame:
    rows = runs[(runs.scenario == "class") & runs.label.isin(list(labels))].copy()
    rows["diverged"] = stats.diverged_mask(rows)
    return rows


def measure_all_forget(runs: pd.DataFrame, draw: int, labels=None) -> pd.DataFrame:
    """Table 4's "all methods reduce the forget accuracy to 0": per seed, the largest
    final FA over ``labels`` (the Table 4 methods) in the class task; a diverged run is a
    collapse (FA 0: forgetting credited only with the RA 0 the other claim gives it)."""
    labels = labels or [c.label for c in TABLE4]
    rows = _class_runs(runs, labels)
    fa = rows["FA"].astype(float).where(~rows["diverged"], 0.0)
    worst = fa.groupby(rows["seed"]).max()
    return claims.measurement(ALL_FORGET, draw, worst.to_numpy(), seeds=worst.index.tolist())


def measure_ngdiff_highest_ra(runs: pd.DataFrame, draw: int, labels=None) -> pd.DataFrame:
    """Table 4's "the retaining accuracy of NGDiff remains the highest", paired per seed
    in the class task: the RA of NGDiff + AutoLR (the paper's NGDiff) minus the best RA
    of Table 4's other methods (``OTHERS`` among ``labels``), where a run counts its RA
    only when it forgets (FA below ``stats.FORGET_BELOW``) and 0 otherwise or when it
    collapsed. NaN for a seed without both sides."""
    labels = labels or [NGDIFF_LABEL, *OTHERS]
    rows = _class_runs(runs, [x for x in labels if x == NGDIFF_LABEL or x in OTHERS])
    forgot = stats.forgets(rows["FA"]) & ~rows["diverged"].to_numpy()
    rows["credit"] = np.where(forgot, rows["RA"].astype(float), 0.0)
    mine = rows.label == NGDIFF_LABEL
    ours = rows[mine].groupby("seed")["credit"].max()
    theirs = rows[~mine].groupby("seed")["credit"].max()
    seeds = sorted(set(ours.index) | set(theirs.index))
    values = ours.reindex(seeds) - theirs.reindex(seeds)
    return claims.measurement(NGDIFF_HIGHEST_RA, draw, values.to_numpy(), seeds=seeds)


def claim_measurements(runs: pd.DataFrame, draw: int, labels=None) -> pd.DataFrame:
    """Every claim of notebook 08, one row per seed (``claims.measurement``)."""
    return pd.concat(
        [measure_all_forget(runs, draw, labels), measure_ngdiff_highest_ra(runs, draw, labels)],
        ignore_index=True,
    )
