"""Claims as a sidecar states them: finite numbers, words where a number has no value.

Shared by the studies' ``*_claims`` functions: ``finite_claims`` (NaN and inf, a group
whose every run diverged, become a sentence saying so) and ``method_summary`` (the final
numbers per method that the Pareto sweep and the method comparison both report).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .stats import group_stats

SUMMARY_COLUMNS = {
    "rouge_forget": "rouge_forget",
    "rouge_retain": "rouge_retain",
    "truth_ratio": "truth_ratio_retain",
}


def finite_claims(values: dict) -> dict:
    """Claims for a sidecar: NaN / inf (every run diverged) become a string saying so."""
    out = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out[key] = finite_claims(value)
        elif isinstance(value, (float, np.floating)) and not math.isfinite(value):
            out[key] = "not finite (every run diverged)"
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
