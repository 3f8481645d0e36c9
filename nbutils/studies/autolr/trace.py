"""What AutoLR did during one run, from its history (NGDiff Fig. 7): the gradient norms
and eta_t per step (``trace``, ``traces``), the share of rejected fits (Remark 4.1,
``kept_share``), the counted forward passes (Appendix C.1, ``forward_cost``) and how
eta moved (``eta_path``, ``eta_moves``).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ...engine.runs import Grid


def _accepted(history: pd.DataFrame) -> pd.Series:
    """``autolr_accepted`` at the AutoLR update steps only, as bools."""
    if "autolr_accepted" not in history:
        return pd.Series([], dtype=bool)
    column = history["autolr_accepted"]
    return column[column.notna()].astype(bool)


def step_rows(history: pd.DataFrame) -> pd.DataFrame:
    """The step rows of a history (not the final evaluation row)."""
    return history[history["loss_retain"].notna()]


def trace(history: pd.DataFrame) -> pd.DataFrame:
    """One run's optimization trace (Fig. 7), one row per step: ``step``,
    ``grad_norm_retain``, ``grad_norm_forget``, ``lr`` (eta_t used at the step),
    ``step_retain = lr / ||g_R||`` and ``step_forget = lr / ||g_F||`` (the rate at which
    NGDiff's d = g_R/||g_R|| - g_F/||g_F|| moves along each raw task gradient under SGD),
    ``autolr_step`` (AutoLR updated eta at this step) and ``kept`` (its fit was
    rejected and eta kept, Remark 4.1)."""
    steps = step_rows(history).copy()
    out = steps[["step", "grad_norm_retain", "grad_norm_forget", "lr"]].astype(float)
    out["step"] = out["step"].astype(int)
    out["step_retain"] = out["lr"] / out["grad_norm_retain"]
    out["step_forget"] = out["lr"] / out["grad_norm_forget"]
    accepted = _accepted(steps)
    out["autolr_step"] = out.index.isin(accepted.index)
    out["kept"] = out.index.isin(accepted.index[~accepted.to_numpy()])
    return out.reset_index(drop=True)


def traces(grid: Grid) -> pd.DataFrame:
    """``trace`` of every finished run of ``grid``, with its ``label`` and ``seed``."""
    parts = [
        trace(r.history).assign(label=r.label, seed=r.seed)
        for r in grid.records
        if r.diverged_at is None
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def kept_share(histories: pd.DataFrame) -> float:
    """Share of AutoLR updates whose fit was rejected (eta kept; GeN-style also when a
    probe was not finite, eta halved), over all runs in ``histories``; NaN when no
    update happened."""
    accepted = _accepted(histories)
    return float((~accepted).mean()) if len(accepted) else math.nan


def forward_cost(history: pd.DataFrame, base: float = 2.0) -> dict[str, float]:
    """Cost of one run from its forward-pass counter (Appendix C.1): ``forwards_per_step``,
    ``extra_forwards_per_step`` (beyond ``base``, the 2 forwards of every step of
    Algorithm 1: AutoLR's probes, 2 every k steps for the plain rule, 3 with a fresh
    batch) and ``overhead`` = extra / 6, the relative cost when a step costs 6 forward
    units (1 forward + 1 backward of twice its cost, for each of R and F)."""
    steps = len(step_rows(history))
    forwards = float(history["forward_passes"].max())
    extra = forwards / steps - base
    return {
        "forwards_per_step": forwards / steps,
        "extra_forwards_per_step": extra,
        "overhead": extra / 6,
    }


def eta_path(history: pd.DataFrame, start: float) -> np.ndarray:
    """eta before the first step and after every AutoLR update: [start, eta_1, ...]."""
    steps = step_rows(history)
    updates = steps.index[steps.index.isin(_accepted(steps).index)]
    return np.array([start, *steps.loc[updates, "lr"].astype(float)])


def eta_moves(path: np.ndarray) -> dict[str, float]:
    """How eta moved along ``eta_path``: ``final_over_start`` and the largest factor by
    which one update changed it (``largest_jump`` >= 1, in either direction)."""
    ratios = path[1:] / path[:-1]
    jump = float(np.exp(np.abs(np.log(ratios)).max())) if ratios.size else 1.0
    return {"final_over_start": float(path[-1] / path[0]), "largest_jump": jump}
