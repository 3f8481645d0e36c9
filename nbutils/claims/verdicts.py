"""Claims measured and judged: measurement tables, verdicts with intervals, and the form
sidecars carry them in."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd

from .. import stats
from ..stats import group_stats
from .model import KINDS, STATISTICS
from .registry import REGISTRY, claim

# --------------------------------------------------------------------------- verdicts

MEASUREMENT_COLUMNS = ("claim", "draw", "seed", "value")


def measurement(claim_id: str, draw: int, values, seeds=None, references=None) -> pd.DataFrame:
    """Rows of a measurement table for one claim and one draw: one per run (``values``,
    with its ``seeds``; 0, 1, ... when not given) and, for ratio statistics, the paired
    ``references``."""
    claim(claim_id)
    values = list(values)
    rows = pd.DataFrame(
        {
            "claim": claim_id,
            "draw": draw,
            "seed": list(seeds) if seeds is not None else list(range(len(values))),
            "value": np.asarray(values, dtype=float),
        }
    )
    if references is not None:
        rows["reference"] = np.asarray(list(references), dtype=float)
    return rows


def evaluate(measurements: pd.DataFrame, over_draws: bool = False) -> pd.DataFrame:
    """One row per claim of ``measurements``: the registry's fields, ``value`` (the
    claim's statistic over runs: over several draws, the mean of the draw means, or the
    geometric mean of the draws' std ratios), ``low``/``high`` (its 95% interval, NaN
    where there is none), ``interval`` (the method: a calibrated t over the draw means or
    over one draw's seeds, a t on log std ratios over draws, a calibrated F over one
    draw's seeds, "exact" for exact statistics), ``note`` (what limits the verdict: "one
    draw", "one run: no interval", ...; "" when nothing does), ``bounds`` as text ("[0,
    1]"; "" without a fixed range), ``n_runs``,
    ``n_finished`` (runs with a value), ``n_draws`` and ``verdict``. With
    ``over_draws`` (the scorecard's pooled column) the interval must cover another
    benchmark draw: a claim measured on one draw has none there (inconclusive, "one
    draw: no interval over draws"). See ``stats.estimate_mean``,
    ``stats.estimate_std_ratio`` and ``stats.exact_minimum``."""
    rows = []
    for claim_id, part in measurements.groupby("claim", sort=False):
        spec = claim(claim_id)
        paired = "reference" in part and part["reference"].notna().any()
        columns = ["value", "reference"] if paired else ["value"]
        table = part[columns].to_numpy(dtype=float)
        finite = np.isfinite(table).all(axis=1)
        draws = part["draw"].to_numpy()
        bounds = {"bounds": spec.bounds} if spec.bounds else {}
        estimate = STATISTICS[spec.statistic](table[finite], draws[finite], over_draws, **bounds)
        rows.append(
            {
                **asdict(spec),
                "bounds": f"[{spec.bounds[0]:g}, {spec.bounds[1]:g}]" if spec.bounds else "",
                "value": estimate.value,
                "low": estimate.low,
                "high": estimate.high,
                "interval": estimate.interval,
                "note": estimate.note,
                "n_runs": len(part),
                "n_finished": int(finite.sum()),
                "n_draws": int(part["draw"].nunique()),
                "verdict": stats.verdict(
                    estimate.low, estimate.high, spec.threshold, spec.direction
                ),
            }
        )
    return pd.DataFrame(rows)


def threshold_text(direction: str, threshold: float) -> str:
    """A claim's threshold as tables print it, e.g. ``below 0.1``."""
    return f"{direction.replace('_', ' ')} {threshold:g}"


def verdict_table(verdicts: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``evaluate``'s verdicts as every notebook prints them, by claim id: evidence first,
    then the exact checks, the collection's own checks and the sanity checks (never
    evidence), each with its kind,
    setting, value and 95% interval, threshold, runs (finished/all), verdict and note
    ("one draw", "one run: no interval", ...)."""

    def number(x) -> str:
        return f"{x:.{digits}g}" if isinstance(x, (int, float)) and math.isfinite(x) else "n/a"

    order = verdicts["kind"].map({k: i for i, k in enumerate(KINDS)}).fillna(len(KINDS))
    v = verdicts.assign(order=order).sort_values("order", kind="stable")
    return pd.DataFrame(
        {
            "claim": v["id"],
            "kind": v["kind"],
            "setting": v["setting"],
            "value [95% interval]": [
                f"{number(x)} [{number(lo)}, {number(hi)}]"
                for x, lo, hi in zip(v["value"], v["low"], v["high"])
            ],
            "threshold": [threshold_text(d, t) for d, t in zip(v["direction"], v["threshold"])],
            "runs": [f"{f}/{n}" for f, n in zip(v["n_finished"], v["n_runs"])],
            "verdict": v["verdict"],
            "note": v["note"] if "note" in v else "",
        }
    ).set_index("claim")


def for_sidecar(verdicts: pd.DataFrame, measurements: pd.DataFrame, ids: list[str]) -> dict:
    """The claims a figure shows, as its sidecar carries them: per id the verdict row (a
    value without an interval has ``low``/``high`` None, its note says why) and every
    run's value (``runs``), which the scorecard pools over draws."""
    out = {}
    for claim_id in ids:
        row = verdicts[verdicts["id"] == claim_id].iloc[0].to_dict()
        if math.isfinite(row["value"]) and not math.isfinite(row["low"]):
            row["low"] = row["high"] = None  # no interval: the note says why
        runs = measurements[measurements["claim"] == claim_id].drop(columns="claim")
        out[claim_id] = {**row, "runs": runs.to_dict(orient="records")}
    return finite_claims(out)


def runs_of(sidecar_claims: dict) -> pd.DataFrame:
    """The measurement table back from sidecar claims (``for_sidecar``'s ``runs``)."""
    parts = [
        pd.DataFrame(entry["runs"]).assign(claim=claim_id)
        for claim_id, entry in sidecar_claims.items()
        if isinstance(entry, dict) and "runs" in entry and claim_id in REGISTRY
    ]
    if not parts:
        return pd.DataFrame(columns=MEASUREMENT_COLUMNS)
    table = pd.concat(parts, ignore_index=True)
    for column in ("value", "reference"):  # a run without a value was written as words
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


# --------------------------------------------------------------------------- formatting

SUMMARY_COLUMNS = {
    "rouge_forget": "rouge_forget",
    "rouge_retain": "rouge_retain",
    "truth_ratio": "truth_ratio_retain",
}


def finite_claims(values: dict) -> dict:
    """Claims for a sidecar (JSON has no NaN): NaN / inf become "not finite", with the
    reason from the same entry's ``note`` when it has one (a std ratio whose reference
    does not vary, no finished run)."""
    out = {}
    note = values.get("note")
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = finite_claims(value)
        elif isinstance(value, list):
            out[key] = [finite_claims(v) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
            out[key] = f"not finite ({note})" if note else "not finite"
        else:
            out[key] = value.item() if isinstance(value, np.generic) else value
    return out


def finite_or(value, missing: str = "n/a (no finished run)"):
    """A claim value: the float when finite, else a string saying why there is none."""
    value = float(value)
    return value if math.isfinite(value) else missing


def method_summary(finals: pd.DataFrame, labels: list[str]) -> dict:
    """Per method: mean and std (0 for a single finished run) over finished runs of
    ROUGE_F, ROUGE_R and the retain-side Truth Ratio."""
    table = group_stats(finals, "label", list(SUMMARY_COLUMNS.values())).set_index("label")
    return {
        label: {
            **{
                name: float(table.loc[label, f"{col}_mean"])
                for name, col in SUMMARY_COLUMNS.items()
            },
            **{
                f"{name}_std": float(np.nan_to_num(table.loc[label, f"{col}_std"], nan=0.0))
                for name, col in SUMMARY_COLUMNS.items()
            },
        }
        for label in labels
    }
