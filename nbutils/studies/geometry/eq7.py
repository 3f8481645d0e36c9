"""Eq. 7 of NGDiff (Sec. 3.2, Lemma 4): a step d = a g_R - b g_F (Eq. 5) must neither
climb L_R nor descend L_F to first order, g_R.d >= 0 >= g_F.d.

Rounding (float32): forming d = a g_R - b g_F rounds each entry by about one ulp of
a|g_R,i| + b|g_F,i|, and a float32 inner product of n terms adds O(log n) ulps of
sum |g_i d_i|. So Eq. 7 is checked as g_R.d >= -tol ||g_R|| s and g_F.d <= tol ||g_F|| s
with s = a ||g_R|| + b ||g_F|| (``directions.satisfies_eq7``'s ``d_scale``) and
``TOL32`` below: a violation smaller than that is rounding, not geometry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ...engine import directions

# 2^-16 = 1.5e-5: 128 float32 ulps (eps = 2^-23) of ||g|| * (a ||g_R|| + b ||g_F||).
TOL32 = 2.0**-16

# The rules of the sign checks (as methods.METHODS names).
CHECK_METHODS = (
    "GD",
    "GA",
    "GDiff-0.1",
    "GDiff-0.5",
    "GDiff-0.9",
    "LossNorm",
    "RLW",
    "PCGrad (paper)",
    "PCGrad",
    "IMTL-G",
    "NGDiff",
)


def eq7_margins(geo: directions.Geometry, w: directions.Weights) -> tuple[float, float]:
    """(g_R.d, g_F.d) divided by ||g|| (a ||g_R|| + b ||g_F||): Eq. 7 holds when the
    first is >= 0 and the second <= 0; both lie in [-1, 1] (Cauchy-Schwarz)."""
    dot_r, dot_f = w.dots(geo)
    scale = w.retain * geo.norm_retain + w.forget * geo.norm_forget
    rel_r = dot_r / (geo.norm_retain * scale) if geo.rr > 0 and scale > 0 else 0.0
    rel_f = dot_f / (geo.norm_forget * scale) if geo.ff > 0 and scale > 0 else 0.0
    return rel_r, rel_f


def shares(checks: pd.DataFrame, by: str = "method", order: Sequence[str] | None = None):
    """Per group: share of cases where Eq. 7 holds and where each side fails, and the
    number of cases (rows with ``holds`` missing, i.e. no direction, are left out)."""
    c = checks.dropna(subset=["holds"])
    table = c.groupby(by).agg(
        eq7_share=("holds", "mean"),
        retain_side_fails=("retain_ok", lambda s: 1.0 - s.mean()),
        forget_side_fails=("forget_ok", lambda s: 1.0 - s.mean()),
        cases=("holds", "size"),
    )
    return table.reindex(order) if order is not None else table


def gdiff_boundary(c: float, log10_ratio: np.ndarray) -> np.ndarray:
    """The largest cos(g_R, g_F) at which GDiff(c) satisfies Eq. 7, for ratio
    rho = ||g_F|| / ||g_R||: c ||g_R||^2 >= (1-c) g_R.g_F  and  c g_R.g_F <= (1-c) ||g_F||^2,
    i.e. cos <= min(c / ((1-c) rho), (1-c) rho / c)."""
    rho = 10.0 ** np.asarray(log10_ratio, dtype=float)
    return np.minimum(c / ((1 - c) * rho), (1 - c) * rho / c)
