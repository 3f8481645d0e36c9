"""Notebook 05's runs and their summary: Fig. 7's runs from the middle of the rate grid,
the plain rule (Algorithm 1) and GeN's (``trace_configs``); AutoLR's own settings, its
starting rates and periods around the tuned rate (``settings_grid``,
``autolr_configs``); one row per run's config (``settings_table``) and the findings in
words (``rule_comparison``, ``settings_verdict``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ... import stats
from ...engine.autolr import AutoLR
from ...engine.runs import Config, Grid
from ...stats import FORGET_BELOW
from ..lr.configs import METRICS
from .trace import eta_moves, eta_path, forward_cost, kept_share

START_FACTORS = (0.01, 0.1, 1.0, 10.0)  # initial eta = tuned rate x these: 3 orders
PERIODS = (1, 5, 10, 20)


def settings_grid(smoke: bool, period: int) -> tuple[tuple[float, ...], tuple[int, ...]]:
    """Notebook 05's starting factors and periods: ``START_FACTORS`` and ``PERIODS``; at
    smoke size (6 steps) three factors and the periods 1 and ``period``."""
    if smoke:
        return (0.1, 1.0, 10.0), tuple(sorted({1, period}))
    return START_FACTORS, PERIODS


def rule_name(autolr: AutoLR) -> str:
    return "GeN-style" if autolr.smoothing else "plain"


def autolr_config_label(autolr: AutoLR, lr: float) -> str:
    return f"NGDiff + AutoLR {rule_name(autolr)} k={autolr.period} from {lr:g}"


def _config(autolr: AutoLR, lr: float) -> Config:
    return Config(autolr_config_label(autolr, lr), "NGDiff", lr, autolr)


def trace_configs(start: float, period: int, verdicts_only: bool = False) -> list[Config]:
    """Fig. 7's runs from ``start`` (the middle of the rate grid: the paper's 5e-5 in
    {1e-5, 5e-5, 1e-4}): the plain rule (Algorithm 1, the claims' run) and GeN's rule
    with period ``period`` and with k = 1 (its bounded, smoothed change needs many
    updates to move eta far). ``verdicts_only``: the plain rule only."""
    plain = _config(AutoLR.plain(period), start)
    if verdicts_only:
        return [plain]
    gen = [_config(AutoLR.gen_style(k), start) for k in dict.fromkeys((period, 1))]
    return [plain, *gen]


def autolr_configs(
    tuned: float,
    period: int,
    factors: Sequence[float] = START_FACTORS,
    periods: Sequence[int] = PERIODS,
) -> dict[str, list[Config]]:
    """Notebook 05's settings runs of NGDiff + AutoLR (plain rule), by purpose:
    ``starts`` (period ``period``, initial eta = tuned x factors) and ``periods`` (from
    the tuned rate, every period). The run from the tuned rate with period ``period``
    appears in both (run once: ``unique``)."""
    return {
        "starts": [_config(AutoLR.plain(period), tuned * f) for f in factors],
        "periods": [_config(AutoLR.plain(k), tuned) for k in periods],
    }


def unique(configs: Sequence[Config]) -> list[Config]:
    """Configs without repeats (same label), in order."""
    return list({c.label: c for c in configs}.values())


def settings_table(grid: Grid, configs: Sequence[Config]) -> pd.DataFrame:
    """One row per config of ``configs``: rule, period k, initial and final eta (mean
    over seeds, and min/max), final ROUGE_F and ROUGE_R (mean, std), kept-update share,
    forward passes per step and extra ones, the overhead in forward units, and how eta
    moved (median over seeds of ``eta_moves``). A config without AutoLR has the rule
    ``"fixed rate"`` and k NaN."""
    summary = stats.group_stats(grid.finals, "label", METRICS).set_index("label")
    rows = []
    for config in configs:
        records = [r for r in grid.records if r.label == config.label]
        finished = [r for r in records if r.diverged_at is None]
        row = {
            "label": config.label,
            "rule": rule_name(config.autolr) if config.autolr else "fixed rate",
            "k": config.autolr.period if config.autolr else math.nan,
            "initial_lr": config.lr,
            "runs": len(records),
            "diverged": len(records) - len(finished),
        }
        final_lrs = np.array([r.final_lr for r in finished])
        row |= {
            "final_lr_mean": float(final_lrs.mean()) if finished else math.nan,
            "final_lr_min": float(final_lrs.min()) if finished else math.nan,
            "final_lr_max": float(final_lrs.max()) if finished else math.nan,
        }
        for column in METRICS:
            row[f"{column}_mean"] = summary.loc[config.label, f"{column}_mean"]
            row[f"{column}_std"] = np.nan_to_num(summary.loc[config.label, f"{column}_std"])
        histories = [r.history for r in finished]
        row["kept_share"] = kept_share(pd.concat(histories)) if histories else math.nan
        costs = [forward_cost(h) for h in histories]
        for key in ("forwards_per_step", "extra_forwards_per_step", "overhead"):
            row[key] = float(np.mean([c[key] for c in costs])) if costs else math.nan
        moves = [eta_moves(eta_path(h, config.lr)) for h in histories]
        for key in ("final_over_start", "largest_jump"):
            row[key] = float(np.median([m[key] for m in moves])) if moves else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


SMOOTH_JUMP = 2.0  # "smooth": no single update changes eta by more than GeN's clip, 2x


def rule_comparison(table: pd.DataFrame, labels: Sequence[str], setting: str) -> list[str]:
    """Plain vs GeN-style in words, from a ``settings_table``'s rows ``labels``: how far
    each took eta (median final / initial over seeds), its largest single update, the
    share of rejected fits, and whether eta rose smoothly as in the paper's Fig. 7
    (rose, and no update changed it by more than ``SMOOTH_JUMP``)."""
    by = table.set_index("label")
    lines = []
    for label in labels:
        row = by.loc[label]
        if row["diverged"] == row["runs"]:
            lines.append(f"  {setting}, {label}: every run diverged")
            continue
        rises = row["final_over_start"] > 1
        smooth = row["largest_jump"] <= SMOOTH_JUMP
        shape = (
            "rises smoothly (the paper's Fig. 7 shape)"
            if rises and smooth
            else "rises in jumps"
            if rises
            else "does NOT rise"
        )
        lines.append(
            f"  {setting}, {row['rule']} k={row['k']:g} from {row['initial_lr']:g}: eta x "
            f"{row['final_over_start']:.3g} after the last step (largest single update x "
            f"{row['largest_jump']:.3g}, rejected fits {100 * row['kept_share']:.0f}%, "
            f"{row['diverged']:g}/{row['runs']:g} diverged): {shape}; ROUGE_F "
            f"{row['rouge_forget_mean']:.3f}, ROUGE_R {row['rouge_retain_mean']:.3f}"
        )
    return lines


def settings_verdict(
    table: pd.DataFrame, starts: Sequence[str], periods: Sequence[str], reference: str
) -> str:
    """Notebook 05's findings on AutoLR's own settings in words, from a
    ``settings_table``."""
    by = table.set_index("label")

    def result(label: str) -> str:
        row = by.loc[label]
        if row["diverged"] == row["runs"]:
            return "every run diverged"
        works = "forgets" if row["rouge_forget_mean"] < FORGET_BELOW else "does NOT forget"
        return (
            f"{works} (ROUGE_F {row['rouge_forget_mean']:.3f}, ROUGE_R "
            f"{row['rouge_retain_mean']:.3f}, final eta {row['final_lr_mean']:.3g})"
        )

    initial = by.loc[list(starts), "initial_lr"]
    final = by.loc[list(starts), "final_lr_mean"]
    lines = [
        f"Fixed NGDiff at {by.loc[reference, 'initial_lr']:g}: {result(reference)}.",
        f"Starting rates spanning {initial.max() / initial.min():.0f}x end spanning "
        f"{final.max() / final.min():.1f}x "
        + (
            "(AutoLR pulls eta together)."
            if final.max() / final.min() < initial.max() / initial.min()
            else "(AutoLR does NOT pull eta together)."
        ),
    ]
    lines += [
        f"  from {by.loc[s, 'initial_lr']:g} (k={by.loc[s, 'k']:g}): {result(s)}" for s in starts
    ]
    for label in periods:
        row = by.loc[label]
        lines.append(
            f"  k={row['k']:g}: {result(label)}; +{row['extra_forwards_per_step']:.2f} "
            f"forwards per step counted"
        )
    return "\n".join(lines)
