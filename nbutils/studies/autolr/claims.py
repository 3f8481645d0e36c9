"""Notebook 05's registry claims, measured (``FIGURE_CLAIMS`` says which figure shows
which): Fig. 7's per run of the plain rule (the forget gradient gets the smaller
effective rate, AutoLR's rate rises), Appendix C.1's per seed of the timed pairs (the
timed overhead, and the counted extra forwards, a sanity check).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ... import claims
from ...engine.loop import Run
from .timing import timing_per_seed
from .trace import step_rows

# Appendix C.1's claims: each is a column of ``timing_per_seed``.
COST_COLUMNS = {
    "ngdiff.appc1.autolr_overhead_below_10_percent": "overhead",  # timed
    "ngdiff.appc1.autolr_counted_forwards": "extra_forwards",  # counted: 2/k (sanity)
}
FIGURE_CLAIMS = {
    "fig7_autolr_trace": [
        "ngdiff.fig7.forget_gradient_gets_smaller_rate",
        "ngdiff.fig7.autolr_rate_rises",
    ],
    "autolr_settings": list(COST_COLUMNS),
}


def forget_over_retain_norm(history: pd.DataFrame) -> float:
    """The median over a run's steps of ||g_F|| / ||g_R|| (a diverged run: the steps it
    took): above 1, NGDiff's effective rate on the forget gradient, eta / ||g_F||, is the
    smaller of the two. NaN without a step."""
    steps = step_rows(history)
    ratio = steps["grad_norm_forget"].astype(float) / steps["grad_norm_retain"].astype(float)
    return float(ratio.median()) if len(ratio) else math.nan


def measure_forget_rate(runs: Sequence[Run], draw: int) -> pd.DataFrame:
    """``ngdiff.fig7.forget_gradient_gets_smaller_rate``: ``forget_over_retain_norm`` of
    each run."""
    return claims.measurement(
        FIGURE_CLAIMS["fig7_autolr_trace"][0],
        draw,
        [forget_over_retain_norm(r.history) for r in runs],
        seeds=[r.seed for r in runs],
    )


def measure_rate_rise(runs: Sequence[Run], draw: int) -> pd.DataFrame:
    """``ngdiff.fig7.autolr_rate_rises``: per run, eta after the last step over the
    initial eta (its config's rate); a diverged run counts 0 (AutoLR did not keep it
    stable, whatever its rate did)."""
    values = [0.0 if r.diverged_at is not None else r.final_lr / r.config.lr for r in runs]
    return claims.measurement(
        FIGURE_CLAIMS["fig7_autolr_trace"][1], draw, values, seeds=[r.seed for r in runs]
    )


def measure_cost(timing: pd.DataFrame, draw: int) -> pd.DataFrame:
    """Appendix C.1's claims per seed, from ``timed_pairs``: each claim of
    ``COST_COLUMNS`` with its column of ``timing_per_seed``, the timed ``overhead``
    (``ngdiff.appc1.autolr_overhead_below_10_percent``) and the counted extra forward
    passes per step of AutoLR k = 10 (``ngdiff.appc1.autolr_counted_forwards``)."""
    per_seed = timing_per_seed(timing)
    rows = [
        claims.measurement(claim_id, draw, per_seed[column].to_numpy(), seeds=per_seed.index)
        for claim_id, column in COST_COLUMNS.items()
    ]
    return pd.concat(rows, ignore_index=True)


def claim_measurements(runs: Sequence[Run], timing: pd.DataFrame, draw: int) -> pd.DataFrame:
    """Every claim of notebook 05: Fig. 7's from ``runs`` (NGDiff + AutoLR, plain rule,
    Adam, from the middle of the grid), Appendix C.1's from ``timed_pairs``."""
    return pd.concat(
        [
            measure_forget_rate(runs, draw),
            measure_rate_rise(runs, draw),
            measure_cost(timing, draw),
        ],
        ignore_index=True,
    )
