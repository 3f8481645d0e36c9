"""Notebook 06: the method comparison of NGDiff's Fig. 4, Table 1 and Table 3.

Inputs are the tables of ``engine.runs.Grid``: ``finals`` (one row per run: ``label``,
``seed``, ``diverged_at``, ``rouge_forget``, ``rouge_retain``, ``truth_ratio_retain``,
``truth_ratio_forget_values``, ``split_loss_forget``, ``split_loss_retain``, ...) and
``histories`` (one row per step and run). Metrics follow the paper's Sec. 5.2 (NOTES.md):
Verbmem = ROUGE-L recall on F's questions, Utility = ROUGE-L recall on R's, TruthRatio =
TOFU's retain-side summary mean(max(0, 1 - TR)); and TOFU's forget quality, the KS test
of the forget-side truth ratios against the retain-only model's
(``core.metrics.forget_quality``), with the distance of ROUGE_F to the retain-only
model's ROUGE_F (``with_forget_quality``): the retain-only model does not score ROUGE_F 0
(the answers' template is guessable), so ROUGE_F far below its value is over-forgetting.

The paper's success rule (Table 1 caption), one cell at a time: a Verbmem cell succeeds
when the run forgets (``stats.forgets``: below 0.1); a Utility or TruthRatio cell when
it is kept (``stats.keeps_utility``: at least 70% of No-unlearn's value). Cells are
judged on the mean over seeds; ``*_seeds`` columns say on how many seeds the same cell
succeeds.

The registry's claims of the notebook (``nbutils.claims``, ids ``ngdiff.table1.*``,
``ngdiff.table3.*``, ``ngdiff.fig4.*``) are measured per run by ``claim_measurements``.
A diverged run counts as a *collapse*: ROUGE_F 0, ROUGE_R 0 and a retain TruthRatio of
0 (the scale's worst), as its claim's quantity says.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .. import claims, stats
from ..core import metrics
from ..engine.autolr import AutoLR
from ..engine.runs import Config
from .style import color, marker

# Table name -> column of ``engine.runs.Grid.finals``.
METRICS = {
    "verbmem": "rouge_forget",
    "utility": "rouge_retain",
    "truth_ratio": "truth_ratio_retain",
}
TITLES = {
    "verbmem": "Verbmem ↓ (ROUGE-L recall on F)",
    "utility": "Utility ↑ (ROUGE-L recall on R)",
    "utility_rel": "Utility / No-unlearn ↑",
    "truth_ratio": "TruthRatio ↑ (retain)",
    "forget_quality": "Forget quality ↑ (KS p vs retain-only)",
    "rouge_f_gap": "|ROUGE_F − retain-only's| ↓",
}
# Summarised without a success rule (TOFU's forget quality and the ROUGE_F distance).
QUALITY = ("forget_quality", "rouge_f_gap")
REFERENCE_LABEL = "No-unlearn"
RETAIN_ONLY = "retain-only"

# The comparison (Sec. 5.3-5.4): Table 1 / Table 3 methods, each without and with AutoLR;
# Fig. 4's curves (NGDiff there is NGDiff + AutoLR, the paper's NGDiff). Every method is
# tuned on held-out seeds (``engine.tuning``); GDiff-0.7 only for Fig. 4.
TABLE_METHODS = ["GDiff-0.9", "GDiff-0.5", "GDiff-0.1", "NPO", "LossNorm", "NGDiff"]
TUNED_METHODS = ["GDiff-0.9", "GDiff-0.7", "GDiff-0.5", "GDiff-0.1", "NPO", "LossNorm", "NGDiff"]
CURVE_METHODS = ["GDiff-0.5", "GDiff-0.7", "GDiff-0.9", "LossNorm", "NPO", "NGDiff+AutoLR"]
CURVE_POINTS = 8  # ROUGE evaluations per run before the final one (Fig. 4)
SMOKE_CURVE_POINTS = 1  # at smoke size: the start and the end
SMOKE_EVAL_SEEDS = 1  # at smoke size: one evaluation seed (the notebook only has to run)
SETTINGS = {"adam": claims.ADAM, "sgd": claims.SGD}

# The paper's Phi-1.5 rows (TOFU forget10), Table 1 and Table 3 (without -> with AutoLR):
# (Verbmem, Utility, TruthRatio). Table 1's NGDiff is NGDiff with AutoLR (Sec. 5.4).
PAPER_PHI15_TABLE1 = {
    "No-unlearn": (1.000, 1.000, 0.385),
    "GDiff-0.9": (0.805, 0.992, 0.205),
    "GDiff-0.5": (0.027, 0.308, 0.216),
    "GDiff-0.1": (0.000, 0.000, 0.221),
    "NPO": (0.000, 0.000, 0.179),
    "LossNorm": (0.432, 0.752, 0.214),
    "NGDiff+AutoLR": (0.024, 0.747, 0.353),
}
PAPER_PHI15_TABLE3 = {  # method: ((without), (with AutoLR))
    "GDiff-0.9": ((0.81, 0.99, 0.21), (0.20, 0.42, 0.31)),
    "GDiff-0.5": ((0.03, 0.31, 0.22), (0.00, 0.03, 0.30)),
    "GDiff-0.1": ((0.00, 0.00, 0.22), (0.00, 0.00, 0.23)),
    "NPO": ((0.00, 0.00, 0.18), (0.00, 0.00, 0.22)),
    "LossNorm": ((0.43, 0.75, 0.21), (0.23, 0.73, 0.34)),
    "NGDiff": ((0.02, 0.61, 0.29), (0.01, 0.75, 0.35)),
}

# --------------------------------------------------------------------------- the runs


def optimizers_to_run(optimizers: list[str]) -> list[str]:
    """The optimizers a notebook runs, in their order: Adam (the paper's setting) and SGD
    (Algorithm 1 as written) each have their own registry claims, so ``verdicts_only``
    keeps both."""
    for name in optimizers:
        if name not in SETTINGS:
            raise ValueError(f"optimizers must be among {list(SETTINGS)}, got {name!r}")
    return list(optimizers)


def evaluation_seeds(seeds: list[int], smoke: bool) -> list[int]:
    """The evaluation seeds of notebooks 02 and 06: ``seeds`` (``presets.seeds``), only the
    first ``SMOKE_EVAL_SEEDS`` at smoke size, where the notebooks only have to run."""
    return list(seeds[:SMOKE_EVAL_SEEDS]) if smoke else list(seeds)


def curve_eval_every(steps: int, points: int | None = None, *, smoke: bool = False) -> int:
    """Evaluate every ``steps // points`` steps: ``points`` ROUGE evaluations before the
    final one (``CURVE_POINTS``, every 5 steps of 40, by default; ``SMOKE_CURVE_POINTS``
    at smoke size). Notebooks 02 and 06 call it alike, so their comparison protocols
    (and runs) are the same."""
    points = points or (SMOKE_CURVE_POINTS if smoke else CURVE_POINTS)
    if steps < 1 or points < 1:
        raise ValueError(f"steps and points must be positive, got {steps}, {points}")
    return max(1, steps // points)


def comparison_configs(rates, autolr: AutoLR | None = None, verdicts_only: bool = False):
    """The runs of Table 1, Table 3 and Fig. 4, one list: every ``TABLE_METHODS`` method at
    its tuned rate (``rates``: method -> lr), the same started from that rate with AutoLR
    (``<method>+AutoLR``; plain rule unless ``autolr``), and GDiff-0.7 (Fig. 4). Every
    one is needed by a claim, so ``verdicts_only`` keeps them all."""
    autolr = autolr or AutoLR.plain()
    without = [Config(m, m, float(rates[m])) for m in TABLE_METHODS]
    with_autolr = [Config(f"{m}+AutoLR", m, float(rates[m]), autolr) for m in TABLE_METHODS]
    return without + with_autolr + [Config("GDiff-0.7", "GDiff-0.7", float(rates["GDiff-0.7"]))]


def with_forget_quality(finals: pd.DataFrame, retain_only: dict | None) -> pd.DataFrame:
    """``finals`` with ``forget_quality`` (TOFU's KS p-value of the run's per-question
    forget truth ratios against ``retain_only``'s, ``core.metrics.forget_quality``) and
    ``rouge_f_gap`` (|ROUGE_F - the retain-only model's ROUGE_F|), both NaN where a run
    has no values (diverged, or Truth Ratio not scored) or ``retain_only`` is None."""
    out = finals.copy()
    n = len(out)
    if retain_only is None:
        return out.assign(forget_quality=[math.nan] * n, rouge_f_gap=[math.nan] * n)
    reference = retain_only.get("truth_ratio_forget_values")
    values = out["truth_ratio_forget_values"] if "truth_ratio_forget_values" in out else [None] * n
    out["forget_quality"] = [
        metrics.forget_quality(v, reference)
        if isinstance(v, (list, tuple, np.ndarray)) and reference is not None
        else math.nan
        for v in values
    ]
    rouge = out["rouge_forget"].astype(float) if "rouge_forget" in out else np.full(n, math.nan)
    out["rouge_f_gap"] = np.abs(rouge - float(retain_only["rouge_forget"]))
    return out


def reference_run(label: str, evaluation: dict, seed: int = 0) -> pd.DataFrame:
    """A model that is not a run (No-unlearn, retain-only) as one finished finals row."""
    return pd.DataFrame([{"label": label, "seed": seed, "diverged_at": math.nan, **evaluation}])


def references_table(no_unlearn: dict, retain_only: dict | None) -> pd.DataFrame:
    """The two reference models, one row each (No-unlearn, retain-only when given), with
    their numbers, forget quality against the retain-only model (1 for itself) and the
    ROUGE_F distance to it (``with_forget_quality``); the per-question lists left out."""
    rows = [reference_run(REFERENCE_LABEL, no_unlearn)]
    if retain_only is not None:
        rows.append(reference_run(RETAIN_ONLY, retain_only))
    table = with_forget_quality(pd.concat(rows, ignore_index=True), retain_only)
    keep = [*METRICS.values(), "truth_ratio_forget", *QUALITY]
    return table.set_index("label")[[c for c in keep if c in table]]


def table1(finals: pd.DataFrame, no_unlearn: dict, retain_only: dict | None) -> pd.DataFrame:
    """The Table 1 analogue (``method_table``): the Table 1 methods at their tuned rates,
    NGDiff + AutoLR (the paper's Table 1 NGDiff) and the retain-only model, each with
    forget quality and the ROUGE_F distance to the retain-only model (``finals`` from
    ``with_forget_quality``; NaN without a retain-only model); No-unlearn first."""
    order = [*TABLE_METHODS, "NGDiff+AutoLR"]
    parts = [finals]
    if retain_only is not None:
        parts.append(with_forget_quality(reference_run(RETAIN_ONLY, retain_only), retain_only))
        order.append(RETAIN_ONLY)
    reference = {**no_unlearn, **references_table(no_unlearn, retain_only).loc[REFERENCE_LABEL]}
    return method_table(pd.concat(parts, ignore_index=True), reference, order=order)


def table3(finals: pd.DataFrame, no_unlearn: dict, retain_only: dict | None):
    """The Table 3 analogue: every Table 3 method without and with AutoLR
    (``autolr_table``), and the retain-only model's row last (one value per column, as
    No-unlearn's first) when given. Returns the text table, the change of each mean, and
    the two ``method_table`` halves (without, with)."""
    references = references_table(no_unlearn, retain_only)
    reference = {**no_unlearn, **references.loc[REFERENCE_LABEL]}
    plain = finals[finals["label"].isin(TABLE_METHODS)]
    auto = finals[finals["label"].isin([f"{m}+AutoLR" for m in TABLE_METHODS])]
    auto = auto.assign(label=auto["label"].str.removesuffix("+AutoLR"))
    without = method_table(plain, reference, order=TABLE_METHODS)
    with_autolr = method_table(auto, reference, order=TABLE_METHODS)
    text, change = autolr_table(without, with_autolr)
    if retain_only is not None:
        gold = method_table(
            with_forget_quality(reference_run(RETAIN_ONLY, retain_only), retain_only),
            reference,
        ).loc[RETAIN_ONLY]
        text.loc[RETAIN_ONLY] = [
            f"{gold[m]:.1e}" if m == "forget_quality" else f"{gold[m]:.2f}"
            for m in [m for m in TITLES if TITLES[m] in text.columns]
        ]
    return text, change, without, with_autolr


# --------------------------------------------------------------------------- success rule


def cell_success(metric: str, value: float, reference: float) -> bool:
    """The paper's rule for one cell (Table 1): Verbmem forgets (< 0.1); Utility or
    TruthRatio is kept (>= 70% of the No-unlearn value ``reference``; ``utility_rel`` is
    already relative). A NaN value (every run diverged) never succeeds."""
    if not math.isfinite(value):
        return False
    if metric == "verbmem":
        return bool(stats.forgets(value))
    if metric in ("utility", "truth_ratio"):
        return bool(stats.keeps_utility(value / reference))
    if metric == "utility_rel":
        return bool(stats.keeps_utility(value))
    raise ValueError(f"no success rule for {metric!r}; known: verbmem, utility, truth_ratio")


# --------------------------------------------------------------------------- tables


def method_table(
    finals: pd.DataFrame, reference: dict, order: list[str] | None = None
) -> pd.DataFrame:
    """The Table 1 analogue: one row per method (``label``), No-unlearn first.

    ``reference`` is No-unlearn's evaluation (``metrics.evaluate`` of the target: keys
    ``rouge_forget``, ``rouge_retain``, ``truth_ratio_retain``); it is one model, the
    same for every seed, so its std is 0. Columns, per metric m in verbmem, utility,
    utility_rel (Utility / No-unlearn Utility), truth_ratio: ``m`` (mean over finished
    runs), ``m_std`` (ddof=1; 0 for a single run), ``m_ok`` (the paper's rule on the
    mean), ``m_seeds`` (runs whose own value passes the rule); and ``runs``,
    ``diverged``, ``success`` (all three cells Verbmem, Utility, TruthRatio pass).
    Where ``finals`` has them (``with_forget_quality``), ``forget_quality`` and
    ``rouge_f_gap`` with their ``_std``, without a success rule (No-unlearn's own from
    ``reference`` where it has them, else NaN).
    """
    ref = {m: float(reference[c]) for m, c in METRICS.items()}
    ref["utility_rel"] = 1.0
    quality = [q for q in QUALITY if q in finals]
    labels = order or list(dict.fromkeys(finals["label"]))
    missing = [label for label in labels if label not in set(finals["label"])]
    if missing:
        raise KeyError(f"no runs labelled {missing} in the finals")
    finals = finals.assign(utility_rel=finals[METRICS["utility"]] / ref["utility"])
    columns = {**METRICS, "utility_rel": "utility_rel"}
    summary = stats.group_stats(finals, "label", list(columns.values())).set_index("label")
    finished = finals[~stats.diverged_mask(finals)]
    summary_quality = stats.group_stats(finals, "label", quality).set_index("label")
    rows = [_reference_row(ref)]
    for q in quality:
        rows[0].update({q: float(reference.get(q, math.nan)), f"{q}_std": 0.0})
    for label in labels:
        row = {"label": label, "runs": summary.loc[label, "runs"]}
        row["diverged"] = summary.loc[label, "diverged"]
        own = finished[finished["label"] == label]
        for m, c in columns.items():
            mean = float(summary.loc[label, f"{c}_mean"])
            row[m] = mean
            row[f"{m}_std"] = float(np.nan_to_num(summary.loc[label, f"{c}_std"], nan=0.0))
            row[f"{m}_ok"] = cell_success(m, mean, ref[m])
            row[f"{m}_seeds"] = int(sum(cell_success(m, x, ref[m]) for x in own[c]))
        for q in quality:
            row[q] = float(summary_quality.loc[label, f"{q}_mean"])
            row[f"{q}_std"] = float(np.nan_to_num(summary_quality.loc[label, f"{q}_std"], nan=0.0))
        rows.append(row)
    table = pd.DataFrame(rows).set_index("label")
    table["success"] = table[["verbmem_ok", "utility_ok", "truth_ratio_ok"]].all(axis=1)
    return table


def _reference_row(ref: dict) -> dict:
    row = {"label": REFERENCE_LABEL, "runs": 1, "diverged": 0}
    for m, value in ref.items():
        row.update({m: value, f"{m}_std": 0.0})
        row[f"{m}_ok"] = cell_success(m, value, ref[m])
        row[f"{m}_seeds"] = int(row[f"{m}_ok"])
    return row


def format_table(table: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``method_table`` as text: "mean ± std", with ✓ where the paper's rule marks the
    cell (bold in the paper) and the number of seeds that pass; forget quality (a
    p-value) in scientific notation, without a mark; "n/a" where there is no value."""

    def cell(row, m):
        if not math.isfinite(row[m]):
            return "n/a"
        fmt = ".1e" if m == "forget_quality" else f".{digits}f"
        text = f"{row[m]:{fmt}} ± {row[f'{m}_std']:{fmt}}"
        if row.name != REFERENCE_LABEL and f"{m}_ok" in row:
            text += f" {'✓' if row[f'{m}_ok'] else '✗'} ({row[f'{m}_seeds']}/{row['runs']})"
        return text

    shown = [m for m in TITLES if m in table]
    out = pd.DataFrame(
        {TITLES[m]: table.apply(cell, axis=1, m=m) for m in shown}, index=table.index
    )
    out["runs (diverged)"] = [f"{r} ({d})" for r, d in zip(table["runs"], table["diverged"])]
    return out


def autolr_table(without: pd.DataFrame, with_autolr: pd.DataFrame, digits: int = 2):
    """The Table 3 analogue: "without → with AutoLR" for each method both tables share
    (``method_table`` outputs, matched by row order after No-unlearn), and the change
    of each mean (with minus without) as numbers."""
    if len(without) != len(with_autolr):
        raise ValueError("the two tables must list the same methods in the same order")
    text, change = {}, {}
    shown = ("verbmem", "utility", "utility_rel", "truth_ratio", *QUALITY)
    for m in [m for m in shown if m in without and m in with_autolr]:
        fmt = ".1e" if m == "forget_quality" else f".{digits}f"
        text[TITLES[m]] = [
            f"{a:{fmt}}" if name == REFERENCE_LABEL else f"{a:{fmt}} → {b:{fmt}}"
            for name, a, b in zip(without.index, without[m], with_autolr[m])
        ]
        change[m] = with_autolr[m].to_numpy() - without[m].to_numpy()
    return (
        pd.DataFrame(text, index=without.index),
        pd.DataFrame(change, index=without.index).drop(index=REFERENCE_LABEL, errors="ignore"),
    )


def paper_agreement(table: pd.DataFrame, paper: dict = PAPER_PHI15_TABLE1) -> pd.DataFrame:
    """Cell by cell, does the tiny model get the paper's success mark? For each method
    in both ``table`` (a ``method_table``) and ``paper`` (label -> (Verbmem, Utility,
    TruthRatio), No-unlearn included) and each metric: the paper's value and mark (the
    rule applied with the paper's No-unlearn), ours (mean over seeds) and our mark, and
    ``agrees`` (same mark). Utility is compared relative to No-unlearn on both sides."""
    paper_ref = dict(zip(("verbmem", "utility", "truth_ratio"), paper[REFERENCE_LABEL]))
    rows = []
    for label, values in paper.items():
        if label == REFERENCE_LABEL or label not in table.index:
            continue
        for m, value in zip(("verbmem", "utility", "truth_ratio"), values):
            ours_metric = "utility_rel" if m == "utility" else m
            paper_value = value / paper_ref[m] if m == "utility" else value
            paper_mark = cell_success(ours_metric, paper_value, paper_ref[m])
            rows.append(
                {
                    "method": label,
                    "metric": ours_metric,
                    "paper": paper_value,
                    "paper_success": paper_mark,
                    "ours": float(table.loc[label, ours_metric]),
                    "ours_success": bool(table.loc[label, f"{ours_metric}_ok"]),
                }
            )
    out = pd.DataFrame(rows)
    out["agrees"] = out["paper_success"] == out["ours_success"]
    return out


# --------------------------------------------------------------------------- claims

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


def claim_ids(names: list[str], optimizers) -> list[str]:
    """The registry ids of ``names`` for each optimizer (``<name>.<optimizer>``)."""
    return [f"{name}.{opt}" for opt in optimizers for name in names]


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


# --------------------------------------------------------------------------- plots


CURVES = (
    ("rouge_forget", "ROUGE_F (ROUGE-L recall on F)", False),
    ("rouge_retain", "ROUGE_R (ROUGE-L recall on R)", False),
    ("loss_forget", "L_F (forget batch CE, nats/token)", True),
    ("loss_retain", "L_R (retain batch CE, nats/token)", True),
)


def curve_band(histories: pd.DataFrame, label: str, column: str) -> pd.DataFrame:
    """Mean, min and max over seeds of ``column`` per step for one label (steps where
    the column was recorded: evaluation steps for ROUGE, every step for batch losses)."""
    band = stats.bands(histories[histories["label"] == label], column)
    return band.set_index("step")[["mean", "min", "max"]]


# Fig. 4 draws three GDiff(c) in neighbouring blues: dashes and markers tell them apart.
CURVE_DASHES = {"GDiff-0.5": "-", "GDiff-0.7": "--", "GDiff-0.9": ":"}
CURVE_MARKERS = {"GDiff-0.5": "o", "GDiff-0.7": "s", "GDiff-0.9": "^"}


def curve_style(label: str) -> dict:
    """How one Fig. 4 curve is drawn: colour, dash, marker (GDiff-0.5 / 0.7 / 0.9 each
    its own dash and marker; NGDiff + AutoLR thick)."""
    return {
        "color": color(label),
        "ls": CURVE_DASHES.get(label, "-"),
        "marker": CURVE_MARKERS.get(label, marker(label)),
        "lw": 2.4 if label.startswith("NGDiff") else 1.6,
    }


def plot_method_curves(
    axes,
    histories: pd.DataFrame,
    labels: list[str],
    log_v: float,
    retain_only_forget: float | None = None,
):
    """Fig. 4: ROUGE_F, ROUGE_R, L_F, L_R over unlearning steps; line = mean over seeds,
    band = min to max over seeds; ROUGE at the evaluation steps (markers), losses of
    every step's batches. Losses on a log axis with log V as a grey line; the retain-only
    model's ROUGE_F (``retain_only_forget``) dotted on the ROUGE_F panel."""
    for ax, (column, ylabel, log) in zip(np.ravel(axes), CURVES):
        for label in labels:
            band = curve_band(histories, label, column)
            style = curve_style(label)
            ax.plot(
                band.index,
                band["mean"],
                color=style["color"],
                ls=style["ls"],
                lw=style["lw"],
                label=label,
                marker=style["marker"] if not log else None,
                ms=4,
            )
            ax.fill_between(band.index, band["min"], band["max"], color=style["color"], alpha=0.15)
        if log:
            ax.axhline(log_v, color="grey", ls="--", lw=1, label="random guess log V")
            ax.set_yscale("log")
        else:
            ax.set_ylim(-0.05, 1.05)
        if column == "rouge_forget" and retain_only_forget is not None:
            ax.axhline(
                retain_only_forget,
                color=color(RETAIN_ONLY),
                ls=":",
                lw=1.2,
                label="retain-only (below: over-forgetting)",
            )
            ax.legend(loc="upper right", fontsize=7)
        ax.set(xlabel="unlearning step", ylabel=ylabel)
    return axes


def plot_method_bars(
    axes, table: pd.DataFrame, metrics=("verbmem", "utility_rel", "truth_ratio", "forget_quality")
):
    """Table 1 as bars: mean ± std per method and metric, the success threshold of each
    metric as a dashed line (0.1 for Verbmem, 70% of No-unlearn for the others); the
    bars of cells that pass the paper's rule are edged black. Verbmem also shows the
    retain-only model's ROUGE_F (dotted: below it is over-forgetting); forget quality
    (a KS p-value, no success rule) on a log axis."""
    labels = list(table.index)
    for ax, m in zip(axes, metrics):
        values = table[m].to_numpy(dtype=float)
        ok = table[f"{m}_ok"].to_numpy() if f"{m}_ok" in table else np.zeros(len(labels), bool)
        log = m == "forget_quality"
        ax.bar(
            range(len(labels)),
            np.nan_to_num(values, nan=0.0),
            yerr=None if log else table[f"{m}_std"],
            capsize=3,
            color=[color(label) if label != REFERENCE_LABEL else "#dddddd" for label in labels],
            edgecolor=["black" if good else "none" for good in ok],
        )
        ax.set_xticks(range(len(labels)), labels, rotation=40, ha="right")
        if log:
            finite = values[np.isfinite(values) & (values > 0)]
            low = max(float(finite.min()) / 3, 1e-30) if finite.size else 1e-6
            ax.set(title=TITLES[m], yscale="log", ylim=(low, 2.0))
            for i, v in enumerate(values):
                if not np.isfinite(v):
                    ax.text(i, low, "n/a", ha="center", va="bottom", fontsize=8)
            continue
        threshold = (
            stats.FORGET_BELOW
            if m == "verbmem"
            else stats.KEEP_SHARE * (1.0 if m == "utility_rel" else table.loc[REFERENCE_LABEL, m])
        )
        ax.axhline(threshold, color="black", ls="--", lw=1, label="success threshold")
        if m == "verbmem" and RETAIN_ONLY in table.index:
            ax.axhline(
                table.loc[RETAIN_ONLY, m],
                color=color(RETAIN_ONLY),
                ls=":",
                lw=1.2,
                label="retain-only ROUGE_F (below: over-forgetting)",
            )
            ax.legend(loc="upper right", fontsize=7)
        for i, good in enumerate(ok):
            if good and labels[i] not in (REFERENCE_LABEL, RETAIN_ONLY):
                ax.text(
                    i,
                    values[i] + table[f"{m}_std"].iloc[i] + 0.02,
                    "✓",
                    ha="center",
                    va="bottom",
                    fontsize=11,
                )
        top = np.nanmax(values) if np.isfinite(values).any() else 1.0
        ax.set(title=TITLES[m], ylim=(0, max(1.1, float(top) * 1.15)))
    return axes


def plot_autolr_arrows(
    axes,
    without: pd.DataFrame,
    with_autolr: pd.DataFrame,
    metrics=("verbmem", "utility_rel", "truth_ratio"),
    retain_only: dict | None = None,
):
    """Table 3 as arrows: for each method, from the mean without AutoLR (circle) to the
    mean with AutoLR (arrow head), with the success threshold dashed; a method whose
    every run diverged has no arrow. With ``retain_only`` (a ``method_table`` row or a
    dict of the same columns), its value dotted on each panel (on Verbmem: below it is
    over-forgetting). Forget quality (no threshold) on a log axis."""
    methods = [label for label in without.index if label != REFERENCE_LABEL]
    for ax, m in zip(axes, metrics):
        log = m == "forget_quality"
        for i, label in enumerate(methods):
            a, b = without.loc[label, m], with_autolr.loc[label, m]
            ax.plot(i, a, "o", color=color(label), ms=7)
            if not (math.isfinite(a) and math.isfinite(b)):
                continue
            ax.annotate(
                "",
                xy=(i, b),
                xytext=(i, a),
                arrowprops=dict(arrowstyle="-|>", color=color(label), lw=1.6),
            )
            ax.errorbar(
                i,
                b,
                yerr=None if log else with_autolr.loc[label, f"{m}_std"],
                fmt="none",
                ecolor=color(label),
                capsize=3,
                elinewidth=0.8,
            )
        if retain_only is not None and math.isfinite(float(retain_only[m])):
            ax.axhline(float(retain_only[m]), color=color(RETAIN_ONLY), ls=":", lw=1.2)
        ax.set_xticks(range(len(methods)), methods, rotation=40, ha="right")
        ax.set(title=TITLES[m], xlim=(-0.6, len(methods) - 0.4))
        if log:
            shown = pd.concat([without[m], with_autolr[m]]).to_numpy(dtype=float)
            if (np.isfinite(shown) & (shown > 0)).any():
                ax.set_yscale("log")
            else:  # forget quality needs the retain-only model (not trained: verdicts_only)
                ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center")
            continue
        threshold = (
            stats.FORGET_BELOW
            if m == "verbmem"
            else stats.KEEP_SHARE * (1.0 if m == "utility_rel" else without.loc[REFERENCE_LABEL, m])
        )
        ax.axhline(threshold, color="black", ls="--", lw=1)
        ax.set(ylim=(-0.05, 1.1))
    return axes
