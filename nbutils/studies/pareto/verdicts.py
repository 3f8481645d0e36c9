"""The registry claims of notebook 02 (ids ``ngdiff.fig1.*``): NGDiff's Fig. 1, measured
per seed on the per-c tuned sweep by ``claim_measurements``."""

from __future__ import annotations

import pandas as pd

from ... import claims, stats
from .frontier import frontier_scores
from .sweep import NGDIFF_AUTOLR

FIG1_CLAIMS = [
    "ngdiff.fig1.no_single_c_balances",
    "ngdiff.fig1.ngdiff_adds_to_gdiff_frontier",
    "ngdiff.fig1.ngdiff_beats_npo",
]


def claim_measurements(
    finals: pd.DataFrame, tuned_labels: list[str], no_unlearn: dict, draw: int, optimizer: str
) -> pd.DataFrame:
    """Every registry claim of notebook 02 on one optimizer's finals (ids
    ``<claim>.<optimizer>``), per seed, collapsed (``sweep.collapse``: a diverged run is a
    collapse point, never dropped), all on the per-c tuned sweep (``tuned_labels``, each
    c at its own tuned rate):

    - ``no_single_c_balances``: the largest ROUGE_R / No-unlearn among the GDiff(c) runs
      that forget (ROUGE_F < 0.1), 0 when none does;
    - ``ngdiff_adds_to_gdiff_frontier``: the hypervolume NGDiff + AutoLR adds to the
      sweep's frontier in ROUGE space;
    - ``ngdiff_beats_npo``: NGDiff + AutoLR's minus NPO's ROUGE_R / No-unlearn, each
      counted only where the run forgets (else 0: comparable forgetting first)."""
    ref = float(no_unlearn["rouge_retain"])
    balanced = {}
    for seed, runs in finals[finals["label"].isin(tuned_labels)].groupby("seed"):
        forgot = runs[stats.forgets(runs["rouge_forget"])]
        balanced[seed] = float(forgot["rouge_retain"].max() / ref) if len(forgot) else 0.0
    balanced = pd.Series(balanced)
    scores = frontier_scores(finals, tuned_labels, [NGDIFF_AUTOLR])
    added = scores.set_index("seed")["added_hv"]

    def useful(label):
        runs = finals[finals["label"] == label].set_index("seed")
        return (runs["rouge_retain"] / ref).where(stats.forgets(runs["rouge_forget"]), 0.0)

    beats = (useful(NGDIFF_AUTOLR) - useful("NPO")).dropna()

    def rows(name, values):
        claim_id = f"{name}.{optimizer}"
        return claims.measurement(claim_id, draw, values.to_numpy(), seeds=values.index)

    return pd.concat(
        [rows(FIG1_CLAIMS[0], balanced), rows(FIG1_CLAIMS[1], added), rows(FIG1_CLAIMS[2], beats)],
        ignore_index=True,
    )
