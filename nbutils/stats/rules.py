"""The thresholds of NGDiff's Table 1 and Sec. 5.4, and the rule that picks a rate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .groups import diverged_mask

FORGET_BELOW = 0.1
KEEP_SHARE = 0.7
LOST_AT_MOST = 0.3


def forgets(rouge_forget):
    """ROUGE_F (or FA) below 0.1 (Table 1: Verbmem < 0.1). NaN never forgets."""
    return np.asarray(rouge_forget, dtype=float) < FORGET_BELOW


def keeps_utility(relative_utility):
    """ROUGE_R (or TruthRatio) / No-unlearn's at least 0.7 (Table 1). NaN never keeps."""
    return np.asarray(relative_utility, dtype=float) >= KEEP_SHARE


def loses_utility(relative_utility):
    """ROUGE_R / No-unlearn's at most 0.3 (Sec. 5.4's "0 ~ 30%"); NaN, a run with no
    value, counts as lost."""
    value = np.asarray(relative_utility, dtype=float)
    return ~(value > LOST_AT_MOST)


# --------------------------------------------------------------------------- rates


def rates_that_diverged(table: pd.DataFrame) -> pd.Series:
    """Rows of a rate table with a diverged run: ``diverged`` counts (a median table)
    or ``diverged_at`` (one run per rate)."""
    return table["diverged"] > 0 if "diverged" in table else diverged_mask(table)


def _with_columns(table: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``table`` with every column of ``columns`` (NaN where missing: no run finished)."""
    missing = [c for c in columns if c not in table]
    return table.assign(**{c: math.nan for c in missing}) if missing else table


def rank_rates(
    table: pd.DataFrame, forget: str = "rouge_forget", keep: str = "rouge_retain"
) -> list[float]:
    """The rates of ``table`` (one row per rate: ``lr``, the two metrics, and ``diverged``
    counts or ``diverged_at``) from best to worst by the rate-choosing rule: first the
    rates that forget (``forget`` below ``FORGET_BELOW``) by highest ``keep``; then the
    others by lowest ``forget`` (then highest ``keep``); last, rates with a diverged run
    or no value. Ties go to the smaller rate. Successive halving keeps the head of this
    order; ``choose_rate`` takes its first rate."""
    table = _with_columns(table, forget, keep)
    usable = ~rates_that_diverged(table) & table[forget].notna() & table[keep].notna()
    good, bad = table[usable], table[~usable]
    forgetting = good[forgets(good[forget])]
    others = good[~forgets(good[forget])]
    order = [
        forgetting.sort_values([keep, "lr"], ascending=[False, True]),
        others.sort_values([forget, keep, "lr"], ascending=[True, False, True]),
        bad.sort_values("lr"),
    ]
    return [float(lr) for part in order for lr in part["lr"]]


def choose_rate(
    table: pd.DataFrame,
    forget: str = "rouge_forget",
    keep: str = "rouge_retain",
    names: tuple[str, str] = ("ROUGE_F", "ROUGE_R"),
) -> tuple[float, str]:
    """The rate-choosing rule: the first rate of ``rank_rates`` (the highest ``keep``
    among the rates that forget; if none forgets, the lowest ``forget``, then the highest
    ``keep``; a rate with a diverged run is never chosen). Returns the rate and, in words,
    the rule that picked it (``names`` of the two metrics). Raises ``ValueError`` when
    every rate diverged."""
    table = _with_columns(table, forget, keep)
    usable = table[~rates_that_diverged(table) & table[forget].notna() & table[keep].notna()]
    if usable.empty:
        raise ValueError(f"every rate of the grid diverged: {list(table.lr)}")
    best = rank_rates(table, forget, keep)[0]
    value = float(usable.loc[usable["lr"] == best, forget].iloc[0])
    if forgets(value):
        return best, f"highest {names[1]} among rates with {names[0]} < {FORGET_BELOW}"
    return best, f"no rate reached {names[0]} < {FORGET_BELOW}: lowest {names[0]}"
