"""The registry claims of notebook 06: NGDiff's Table 1, Table 3 and Fig. 4.

The claims (``nbutils.claims``, ids ``ngdiff.table1.*``, ``ngdiff.table3.*``,
``ngdiff.fig4.*``) are measured per run by ``claim_measurements`` on the finals and
histories of ``configs.comparison_configs``. A diverged run counts as a *collapse*:
ROUGE_F 0, ROUGE_R 0 and a retain TruthRatio of 0 (the scale's worst), as its claim's
quantity says.
"""

from __future__ import annotations

import math

import pandas as pd

from ... import claims, stats
from .configs import TABLE_METHODS

TABLE1 = [
    "ngdiff.table1.ngdiff_autolr_forgets",
    "ngdiff.table1.ngdiff_autolr_keeps_utility",
    "ngdiff.table1.ngdiff_autolr_keeps_truth_ratio",
    "ngdiff.table1.gdiff09_fails_to_forget",
    "ngdiff.table1.gdiff01_loses_utility",
    "ngdiff.table1.gdiff05_loses_utility",
    "ngdiff.table1.npo_loses_utility",
    "ngdiff.table1.ngdiff_autolr_beats_gdiff05",
    "ngdiff.table1.ngdiff_autolr_beats_npo",
]
TABLE3 = ["ngdiff.table3.autolr_lowers_verbmem", "ngdiff.table3.autolr_raises_truth_ratio"]
FIG4 = [
    "ngdiff.fig4.ngdiff_keeps_retain_throughout",
    "ngdiff.fig4.only_ngdiff_keeps_retain",
    "ngdiff.fig4.gdiff07_forgets",
]
FIG4_OTHERS = ["GDiff-0.5", "GDiff-0.7", "GDiff-0.9", "LossNorm"]  # Fig. 4 beside NGDiff
COLLAPSE = {"rouge_forget": 0.0, "rouge_retain": 0.0, "truth_ratio_retain": 0.0}


def per_seed(finals: pd.DataFrame, label: str, column: str) -> pd.Series:
    """``column`` of ``label``'s runs by seed, a diverged run counted as a collapse
    (``COLLAPSE``: ROUGE 0, retain TruthRatio 0). Raises ``KeyError`` for a label
    without runs."""
    runs = finals[finals["label"] == label]
    if runs.empty:
        raise KeyError(f"no runs labelled {label!r} in the finals")
    values = runs[column].astype(float) if column in runs else pd.Series(math.nan, runs.index)
    values = values.where(~stats.diverged_mask(runs), COLLAPSE[column])
    return pd.Series(values.to_numpy(), index=runs["seed"].to_numpy(), name=label)


def relative(finals: pd.DataFrame, label: str, no_unlearn: dict, column="rouge_retain"):
    """``column`` / No-unlearn's by seed (a diverged run counts 0)."""
    return per_seed(finals, label, column) / float(no_unlearn[column])


def forgetting_utility(finals: pd.DataFrame, label: str, no_unlearn: dict) -> pd.Series:
    """ROUGE_R / No-unlearn by seed where the run forgets (ROUGE_F < 0.1), else 0: a
    head-to-head on utility between runs that both unlearn (a collapse counts 0)."""
    forgot = stats.forgets(per_seed(finals, label, "rouge_forget"))
    return relative(finals, label, no_unlearn).where(forgot, 0.0)


def lowest_retain(histories: pd.DataFrame, finals: pd.DataFrame, label: str) -> pd.Series:
    """Per run (seed) of ``label``: its lowest ROUGE_R over its evaluation steps (the
    intermediate ones and the final one); a diverged run counts 0."""
    runs = histories[(histories["label"] == label) & histories["rouge_retain"].notna()]
    lowest = runs.groupby("seed")["rouge_retain"].min()
    mine = finals[finals["label"] == label]
    out = lowest.reindex(mine["seed"].to_numpy())
    return out.where(~stats.diverged_mask(mine).to_numpy(), 0.0)


def autolr_changes(finals: pd.DataFrame, column: str, methods=TABLE_METHODS) -> pd.DataFrame:
    """Per seed (rows) and method (columns): the paired change of ``column`` with AutoLR
    minus without (``<m>+AutoLR`` vs ``<m>``, diverged runs as collapses)."""
    return pd.concat(
        {m: per_seed(finals, f"{m}+AutoLR", column) - per_seed(finals, m, column) for m in methods},
        axis=1,
    )


def claim_measurements(
    finals: pd.DataFrame, histories: pd.DataFrame, no_unlearn: dict, draw: int, optimizer: str
) -> pd.DataFrame:
    """Every registry claim of notebook 06 on one optimizer's runs (ids ``<claim>.<opt>``),
    one row per claim and seed (``claims.measurement``): ``finals`` (one row per run of
    ``comparison_configs``) and ``histories`` (their evaluation steps); ``no_unlearn`` the
    target's evaluation; ``draw`` the benchmark seed. Every diverged run is a collapse."""

    def rows(name: str, values: pd.Series):
        claim_id = f"{name}.{optimizer}"
        return claims.measurement(claim_id, draw, values.to_numpy(), seeds=values.index)

    ng, t1 = "NGDiff+AutoLR", "ngdiff.table1."
    rel = lambda label: relative(finals, label, no_unlearn)  # noqa: E731
    useful = lambda label: forgetting_utility(finals, label, no_unlearn)  # noqa: E731
    others_lowest = pd.concat([lowest_retain(histories, finals, m) for m in FIG4_OTHERS], axis=1)
    return pd.concat(
        [
            rows(t1 + "ngdiff_autolr_forgets", per_seed(finals, ng, "rouge_forget")),
            rows(t1 + "ngdiff_autolr_keeps_utility", rel(ng)),
            rows(
                t1 + "ngdiff_autolr_keeps_truth_ratio",
                relative(finals, ng, no_unlearn, "truth_ratio_retain"),
            ),
            rows(t1 + "gdiff09_fails_to_forget", per_seed(finals, "GDiff-0.9", "rouge_forget")),
            rows(t1 + "gdiff01_loses_utility", rel("GDiff-0.1")),
            rows(t1 + "gdiff05_loses_utility", rel("GDiff-0.5")),
            rows(t1 + "npo_loses_utility", rel("NPO")),
            rows(t1 + "ngdiff_autolr_beats_gdiff05", useful(ng) - useful("GDiff-0.5")),
            rows(t1 + "ngdiff_autolr_beats_npo", useful(ng) - useful("NPO")),
            rows(
                "ngdiff.table3.autolr_lowers_verbmem",
                autolr_changes(finals, "rouge_forget").max(axis=1, skipna=False),
            ),
            rows(
                "ngdiff.table3.autolr_raises_truth_ratio",
                autolr_changes(finals, "truth_ratio_retain").min(axis=1, skipna=False),
            ),
            rows(
                "ngdiff.fig4.ngdiff_keeps_retain_throughout", lowest_retain(histories, finals, ng)
            ),
            rows("ngdiff.fig4.only_ngdiff_keeps_retain", others_lowest.max(axis=1, skipna=False)),
            rows("ngdiff.fig4.gdiff07_forgets", per_seed(finals, "GDiff-0.7", "rouge_forget")),
        ],
        ignore_index=True,
    )
