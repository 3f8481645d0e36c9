"""Eq. 7 (Lemma 4) at every step of real unlearning runs, from the engine's recorded
g_R.d and g_F.d (``history_sign_checks``), and which rules run (``real_methods``).
"""

from __future__ import annotations

import pandas as pd

from .eq7 import CHECK_METHODS, TOL32


def real_methods(verdicts_only: bool = False, smoke: bool = False) -> list[str]:
    """The rules run on the language model (real steps): every ``CHECK_METHODS`` rule;
    at smoke size four of them; with ``verdicts_only`` those a claim needs (GDiff-0.5's
    steps outside Eq. 7; NGDiff's for Theorem 5)."""
    if verdicts_only:
        return ["GDiff-0.5", "NGDiff"]
    if smoke:
        return ["GDiff-0.5", "PCGrad (paper)", "PCGrad", "NGDiff"]
    return list(CHECK_METHODS)


def history_sign_checks(history: pd.DataFrame, tol: float = TOL32) -> pd.DataFrame:
    """Eq. 7 at every step of engine histories (columns ``dot_retain_d``,
    ``dot_forget_d``, ``weight_*``, ``grad_norm_*``), with the same tolerance as the
    random checks. Rows without a step (final evaluations) are dropped."""
    h = history.dropna(subset=["dot_retain_d", "dot_forget_d"]).copy()
    nr, nf = h["grad_norm_retain"], h["grad_norm_forget"]
    scale = h["weight_retain"] * nr + h["weight_forget"] * nf
    h["margin_retain"] = (h["dot_retain_d"] / (nr * scale)).where(nr * scale > 0, 0.0)
    h["margin_forget"] = (h["dot_forget_d"] / (nf * scale)).where(nf * scale > 0, 0.0)
    h["retain_ok"] = h["margin_retain"] >= -tol
    h["forget_ok"] = h["margin_forget"] <= tol
    h["holds"] = h["retain_ok"] & h["forget_ok"]
    return h
