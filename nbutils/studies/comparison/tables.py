"""Table 1 and Table 3 of NGDiff (Sec. 5.4) and the paper's success rule (Table 1 caption).

Inputs are the tables of ``engine.runs.Grid``: ``finals`` (one row per run: ``label``,
``seed``, ``diverged_at``, ``rouge_forget``, ``rouge_retain``, ``truth_ratio_retain``,
``truth_ratio_forget_values``, ...). Metrics follow the paper's Sec. 5.2 (NOTES.md):
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
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ... import stats
from ...core import metrics
from .configs import TABLE_METHODS

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

# The paper's Phi-1.5 rows (TOFU forget10) of Table 1: (Verbmem, Utility, TruthRatio).
# Table 1's NGDiff is NGDiff with AutoLR (Sec. 5.4).
PAPER_PHI15_TABLE1 = {
    "No-unlearn": (1.000, 1.000, 0.385),
    "GDiff-0.9": (0.805, 0.992, 0.205),
    "GDiff-0.5": (0.027, 0.308, 0.216),
    "GDiff-0.1": (0.000, 0.000, 0.221),
    "NPO": (0.000, 0.000, 0.179),
    "LossNorm": (0.432, 0.752, 0.214),
    "NGDiff+AutoLR": (0.024, 0.747, 0.353),
}

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


# --------------------------------------------------------------------------- Tables 1 and 3


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
