"""The registry claims of notebook 04 (NGDiff Figs. 5 and 6), one value per run and draw:
``measure_gdiff_sensitivity`` (Fig. 6), ``measure_autolr_forgets`` and
``measure_autolr_beats_best_fixed`` (Fig. 5); ``FIGURE_CLAIMS`` says which figure shows
which."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ... import claims, stats
from .configs import AUTOLR_RULE

FIGURE_CLAIMS = {  # figure -> the claim (one per optimizer) it shows
    "fig6_gdiff_lr": "ngdiff.fig6.gdiff_sensitive_to_rate",
    "fig5_ngdiff_lr": "ngdiff.fig5.autolr_forgets",
    "lr_sensitivity_summary": "ngdiff.fig5.autolr_beats_best_fixed_rate",
}


def figure_claims(figure: str, optimizers: Sequence[str]) -> list[str]:
    """The registry ids a figure of notebook 04 carries: its claim for each optimizer run."""
    return [f"{FIGURE_CLAIMS[figure]}.{opt}" for opt in optimizers]


def _runs(finals: pd.DataFrame, rule: str, lr: float) -> pd.DataFrame:
    """The runs of ``rule`` at (or, AutoLR, from) ``lr``, one per seed, by seed."""
    chosen = finals[(finals["rule"] == rule) & np.isclose(finals["lr"], lr, rtol=1e-9, atol=0)]
    return chosen.set_index("seed").sort_index()


def _finished(runs: pd.DataFrame) -> pd.Series:
    return ~stats.diverged_mask(runs)


def gdiff_spread_per_seed(finals: pd.DataFrame) -> pd.Series:
    """Per seed: max - min over the fixed rates of GDiff-0.5's final ROUGE_R, a diverged
    run counting ROUGE_R 0 (it destroyed the model)."""
    runs = finals[finals["rule"] == "GDiff-0.5"]
    retain = runs["rouge_retain"].astype(float).where(_finished(runs), 0.0)
    return retain.groupby(runs["seed"]).agg(stats.spread)


def measure_gdiff_sensitivity(finals: pd.DataFrame, optimizer: str, draw: int) -> pd.DataFrame:
    """``ngdiff.fig6.gdiff_sensitive_to_rate.<optimizer>``: ``gdiff_spread_per_seed``."""
    spread = gdiff_spread_per_seed(finals)
    claim_id = f"{FIGURE_CLAIMS['fig6_gdiff_lr']}.{optimizer}"
    return claims.measurement(claim_id, draw, spread.to_numpy(), seeds=spread.index)


def measure_autolr_forgets(
    finals: pd.DataFrame, optimizer: str, draw: int, start: float
) -> pd.DataFrame:
    """``ngdiff.fig5.autolr_forgets.<optimizer>``: per run of NGDiff + AutoLR from
    ``start`` (the middle of the grid), its final ROUGE_F; a diverged run is a collapse
    (ROUGE_F 0, never dropped: the claims that read its utility count it 0)."""
    runs = _runs(finals, AUTOLR_RULE, start)
    forget = runs["rouge_forget"].astype(float).where(_finished(runs), 0.0)
    claim_id = f"{FIGURE_CLAIMS['fig5_ngdiff_lr']}.{optimizer}"
    return claims.measurement(claim_id, draw, forget.to_numpy(), seeds=runs.index)


def utility_if_forgets(runs: pd.DataFrame) -> pd.Series:
    """Final ROUGE_R of runs that forget (ROUGE_F < 0.1); 0 for a run that does not
    forget or diverged: the paper compares utilities of runs that unlearn."""
    forgot = _finished(runs) & stats.forgets(runs["rouge_forget"].astype(float))
    return runs["rouge_retain"].astype(float).where(forgot, 0.0)


def measure_autolr_beats_best_fixed(
    finals: pd.DataFrame, optimizer: str, draw: int, start: float, best: float
) -> pd.DataFrame:
    """``ngdiff.fig5.autolr_beats_best_fixed_rate.<optimizer>``: per seed, paired,
    ``utility_if_forgets`` of NGDiff + AutoLR from ``start`` minus that of NGDiff at the
    fixed rate ``best`` (tuned on held-out seeds)."""
    auto = utility_if_forgets(_runs(finals, AUTOLR_RULE, start))
    fixed = utility_if_forgets(_runs(finals, "NGDiff", best))
    difference = (auto - fixed).dropna()
    claim_id = f"{FIGURE_CLAIMS['lr_sensitivity_summary']}.{optimizer}"
    return claims.measurement(claim_id, draw, difference.to_numpy(), seeds=difference.index)


def claim_measurements(
    finals: pd.DataFrame, optimizer: str, draw: int, start: float, best: float
) -> pd.DataFrame:
    """Every claim of notebook 04 for one optimizer (``finals`` with ``rule``)."""
    return pd.concat(
        [
            measure_gdiff_sensitivity(finals, optimizer, draw),
            measure_autolr_forgets(finals, optimizer, draw, start),
            measure_autolr_beats_best_fixed(finals, optimizer, draw, start, best),
        ],
        ignore_index=True,
    )
