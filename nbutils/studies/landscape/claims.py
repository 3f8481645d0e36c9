"""Notebook 03's fits summarised (``curvature_summary``) and its registry claims,
measured (``measure_*``; ``CLAIMS_BY_FIGURE`` says which figure shows which): Eq. 6 /
Fig. 3 (quadratic fits) and Remark 4.1 (positive fitted curvature) per NGDiff run, on
NGDiff's own runs only; GeN's curvature at the step's rate per NGDiff run; the Fig. 3
showcase's positive curvature (its grid is built around a minimum), each task flagged
when its fitted eta* is 2x or more off the exact one.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ... import claims
from .visits import Snapshot


def curvature_summary(fits: pd.DataFrame, tasks=("retain", "forget")) -> dict:
    """Median R^2, share of R^2 >= 0.95 and share of positive fitted curvature per task,
    from columns ``r2_<task>`` and ``curvature_<task>``."""
    out = {}
    for task in tasks:
        r2 = fits[f"r2_{task}"].to_numpy(float)
        curv = fits[f"curvature_{task}"].to_numpy(float)
        out[f"median_r2_{task}"] = float(np.median(r2))
        out[f"share_r2_ge_095_{task}"] = float(np.mean(r2 >= 0.95))
        out[f"share_positive_curvature_{task}"] = float(np.mean(curv > 0))
    return out


QUADRATIC = "ngdiff.fig3.quadratic_in_most_iterations"
REMARK41 = "ngdiff.remark4_1.fitted_curvature_positive"
SHOWCASE = "ngdiff.fig3.showcase_fit_curvature_positive"
GEN = "gen.three_point_probe_recovers_curvature"
CLAIMS_BY_FIGURE = {
    "fig3_landscape": (SHOWCASE,),
    "fig3_curvature": (QUADRATIC, REMARK41),
    "gen_probe_error": (GEN,),
}
R2_GOOD = 0.95  # "well fitted"
FAR = 2.0  # the showcase's fitted eta* this far (x or 1/x) from the exact one is flagged


def _own_runs(fits: pd.DataFrame, label: str) -> pd.DataFrame:
    rows = fits[fits["label"] == label] if "label" in fits else fits
    return rows.dropna(subset=["r2_retain", "r2_forget"])


def measure_quadratic(fits: pd.DataFrame, draw: int, label: str = "NGDiff") -> pd.DataFrame:
    """Eq. 6 / Fig. 3 per run of ``label`` only (``ngdiff_fit_visit`` rows with ``label``
    and ``seed``): the share of its steps where the parabolas of L_R and of L_F along
    g_NGDiff both have R^2 >= 0.95."""
    rows = _own_runs(fits, label)
    good = (rows["r2_retain"] >= R2_GOOD) & (rows["r2_forget"] >= R2_GOOD)
    share = good.groupby(rows["seed"]).mean()
    return claims.measurement(QUADRATIC, draw, share.to_numpy(), seeds=share.index.tolist())


def measure_remark41(fits: pd.DataFrame, draw: int, label: str = "NGDiff") -> pd.DataFrame:
    """Remark 4.1 per run of ``label`` only: the share of its steps where the fitted
    curvatures of L_R and of L_F along g_NGDiff are both positive."""
    rows = _own_runs(fits, label)
    convex = (rows["curvature_retain"] > 0) & (rows["curvature_forget"] > 0)
    share = convex.groupby(rows["seed"]).mean()
    return claims.measurement(REMARK41, draw, share.to_numpy(), seeds=share.index.tolist())


def measure_gen(fits: pd.DataFrame, draw: int, label: str = "NGDiff") -> pd.DataFrame:
    """GeN per run of ``label``: the relative error of its three-point d^T H_R d at the
    step's rate against the exact float64 value, at the step where the visit measured it
    (``ngdiff_fit_visit(gen_step=...)``); column ``size`` holds that rate."""
    rows = fits[fits["label"] == label] if "label" in fits else fits
    rows = rows.dropna(subset=["gen_curvature_rel_error"])
    out = claims.measurement(
        GEN, draw, rows["gen_curvature_rel_error"].to_numpy(), seeds=rows["seed"].tolist()
    )
    out["size"] = rows["gen_size"].to_numpy()
    return out


def eta_star_ratio(part: dict) -> float:
    """Fitted over exact eta* of one task of the showcase (NaN when either has none)."""
    fitted, exact = part["fit"].eta_star, part["exact"].eta_star
    return fitted / exact if math.isfinite(fitted) and math.isfinite(exact) else math.nan


def far_off(ratio: float, far: float = FAR) -> bool:
    """Whether a fitted/exact eta* ratio is ``far`` or more off (or missing)."""
    return not (1 / far < ratio < far)


def measure_showcase(snapshot: Snapshot, draw: int, seed: int) -> pd.DataFrame:
    """The Fig. 3 showcase (sanity: its grid is built around the minimum, so the fitted
    curvature is positive by construction): one row per task, its fitted curvature,
    with ``task``, ``eta_star_ratio`` (fitted / exact) and ``flagged`` (2x or more off,
    or no exact minimum)."""
    tasks = list(snapshot.fig3)
    out = claims.measurement(
        SHOWCASE,
        draw,
        [snapshot.fig3[t]["fit"].curvature for t in tasks],
        seeds=[seed] * len(tasks),
    )
    ratios = [eta_star_ratio(snapshot.fig3[t]) for t in tasks]
    out["task"] = tasks
    out["eta_star_ratio"] = ratios
    out["flagged"] = [far_off(r) for r in ratios]
    return out
