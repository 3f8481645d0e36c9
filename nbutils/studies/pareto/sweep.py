"""The runs of NGDiff's Fig. 1: GDiff(c) swept over c, the multi-task rules as markers.

Two sweeps: GDiff(c) at one common rate on a grid of c refined where forgetting flips
(``refine_cs``: Fig. 1's question, what c does at a fixed budget), and GDiff(c) for
c in ``TUNED_CS``, each at its own tuned rate (the frontier a practitioner who tunes
would reach). A run that diverged is not dropped: it is a *collapse* point
(``collapse``: ROUGE_F 0, ROUGE_R 0, both losses at the random-guess loss log V), the
model that gradient ascent leaves behind.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ... import stats
from ...engine.autolr import AutoLR
from ...engine.runs import Config, Protocol, run_grid

TUNED_CS = (0.1, 0.3, 0.5, 0.7, 0.9)  # the per-c tuned sweep
# The multi-task rules of Fig. 1 as markers (each at its tuned rate), NGDiff + AutoLR
# (from NGDiff's tuned rate) and NPO; only the last two are needed by a claim.
MARKER_METHODS = ["LossNorm", "RLW", "PCGrad", "PCGrad (paper)", "IMTL-G", "NGDiff", "NPO"]
CLAIM_METHODS = ["NPO"]
SMOKE_MARKERS = ["PCGrad (paper)", "NGDiff", "NPO"]  # smoke size: a few, one of each kind
NGDIFF_AUTOLR = "NGDiff+AutoLR"


def sweep_label(c: float) -> str:
    """The common-rate sweep's label of c (a ``methods.method`` name: ``GDiff-<c>``)."""
    return f"GDiff-{round(float(c), 6):g}"


def tuned_label(c: float) -> str:
    """The tuned sweep's label of c (drawn in GDiff(c)'s colour)."""
    return f"{sweep_label(c)} @ tuned"


def markers(verdicts_only: bool = False, smoke: bool = False) -> list[str]:
    """The marker methods run (each at its tuned rate): every one of ``MARKER_METHODS``;
    at smoke size ``SMOKE_MARKERS``; with ``verdicts_only`` only those a claim needs."""
    if verdicts_only:
        return list(CLAIM_METHODS)
    return list(SMOKE_MARKERS if smoke else MARKER_METHODS)


def tuned_methods(verdicts_only: bool = False, smoke: bool = False) -> list[str]:
    """The methods whose rates are tuned: the tuned sweep's GDiff(c), NGDiff (which
    NGDiff + AutoLR starts from) and the markers (``markers``)."""
    names = [sweep_label(c) for c in TUNED_CS] + ["NGDiff", *markers(verdicts_only, smoke)]
    return list(dict.fromkeys(names))


# --------------------------------------------------------------------------- collapse


def collapse(finals: pd.DataFrame, log_v: float) -> pd.DataFrame:
    """``finals`` with every diverged run as a collapse point: ROUGE_F 0, ROUGE_R 0 and
    both split losses at ``log_v`` (the random-guess loss); ``collapsed`` marks them and
    ``diverged_at`` becomes ``collapsed_at``, so that statistics count them as points."""
    out = finals.copy()
    diverged = stats.diverged_mask(out).to_numpy()
    out["collapsed"] = diverged
    if "diverged_at" in out:
        out = out.rename(columns={"diverged_at": "collapsed_at"})
    for column, value in (
        ("rouge_forget", 0.0),
        ("rouge_retain", 0.0),
        ("split_loss_forget", log_v),
        ("split_loss_retain", log_v),
    ):
        if column not in out:
            out[column] = math.nan
        out[column] = out[column].astype(float).where(~diverged, value)
    return out


# --------------------------------------------------------------------------- the fine c grid


def forget_shares(finals: pd.DataFrame, cs) -> pd.Series:
    """Per c (sweep label ``sweep_label(c)``): the share of its runs that forget
    (``stats.forgets``: ROUGE_F < 0.1; a collapse forgets). ``finals`` are collapsed."""
    shares = {}
    for c in cs:
        runs = finals[finals["label"] == sweep_label(c)]
        if runs.empty:
            raise KeyError(f"no runs of {sweep_label(c)} in the finals")
        shares[float(c)] = float(np.mean(stats.forgets(runs["rouge_forget"])))
    return pd.Series(shares).sort_index()


def refine_cs(shares: pd.Series, digits: int = 6) -> list[float]:
    """The midpoints of neighbouring c (``shares``: c -> share of runs that forget, sorted
    by c) whose shares differ: where the outcome flips at the common rate."""
    cs, values = shares.index.to_numpy(float), shares.to_numpy(float)
    return [
        round((a + b) / 2, digits)
        for a, b, x, y in zip(cs[:-1], cs[1:], values[:-1], values[1:])
        if x != y and round((a + b) / 2, digits) not in (a, b)
    ]


def refine_sweep(
    run: Callable[[list[float]], pd.DataFrame],
    cs,
    rounds: int,
    log_v: float,
) -> tuple[pd.DataFrame, list[float]]:
    """The common-rate sweep on ``cs``, then ``rounds`` rounds of ``refine_cs``: each adds
    the midpoints where forgetting flips and runs them. ``run(cs)`` returns the finals of
    those values of c (labels ``sweep_label``). Returns every final (collapsed: see
    ``collapse``) and the sorted values of c. Stops early when nothing flips."""
    cs = sorted({round(float(c), 6) for c in cs})
    finals = collapse(run(cs), log_v)
    for _ in range(rounds):
        new = [c for c in refine_cs(forget_shares(finals, cs)) if c not in cs]
        if not new:
            break
        finals = pd.concat([finals, collapse(run(new), log_v)], ignore_index=True)
        cs = sorted(cs + new)
    return finals, cs


@dataclass
class Fig1Runs:
    """The runs of Fig. 1 under one optimizer: ``finals`` (collapsed, every run), the
    values of c of the common-rate sweep (``common_cs``, refined) and of the tuned sweep
    (``tuned_cs``), the common rate, and the labels of the sweeps and the markers."""

    finals: pd.DataFrame
    common_cs: list[float]
    tuned_cs: list[float]
    common_lr: float
    markers: list[str]

    @property
    def common_labels(self) -> list[str]:
        return [sweep_label(c) for c in self.common_cs]

    @property
    def tuned_labels(self) -> list[str]:
        return [tuned_label(c) for c in self.tuned_cs]


def run_fig1(
    target,
    bench,
    rates,
    seeds: list[int],
    sweep_protocol: Protocol,
    method_protocol: Protocol,
    cs,
    rounds: int,
    log_v: float,
    verdicts_only: bool = False,
    smoke: bool = False,
    progress: bool = True,
) -> Fig1Runs:
    """Every run of Fig. 1 on ``seeds``: the common-rate sweep (vanilla GDiff's tuned
    rate, ``rates``: method -> lr) on ``cs`` refined ``rounds`` times where forgetting
    flips (``refine_sweep``; ``sweep_protocol``: evaluated after the last step; the
    figure's, no claim's, so not with ``verdicts_only``), and, under ``method_protocol``
    (notebook 06's, so that the runs are shared), the tuned sweep (``TUNED_CS``) and the
    markers at their tuned rates with NGDiff + AutoLR (plain rule, from NGDiff's rate).
    The markers: ``markers(verdicts_only, smoke)``."""
    common_lr = float(rates["GDiff-0.5"])

    def common(values):
        configs = [Config(sweep_label(c), sweep_label(c), common_lr) for c in values]
        grid = run_grid(
            target,
            bench,
            configs,
            seeds,
            sweep_protocol,
            progress=progress,
            desc=f"GDiff(c) at {common_lr:g}",
        )
        return grid.finals

    sweep, common_cs = (
        (pd.DataFrame(), []) if verdicts_only else refine_sweep(common, cs, rounds, log_v)
    )
    marks = markers(verdicts_only, smoke)
    configs = [
        Config(tuned_label(c), sweep_label(c), float(rates[sweep_label(c)])) for c in TUNED_CS
    ]
    configs += [Config(m, m, float(rates[m])) for m in marks]
    configs.append(Config(NGDIFF_AUTOLR, "NGDiff", float(rates["NGDiff"]), AutoLR.plain()))
    others = run_grid(
        target,
        bench,
        configs,
        seeds,
        method_protocol,
        progress=progress,
        desc="tuned GDiff(c) and markers",
    ).finals
    finals = pd.concat([sweep, collapse(others, log_v)], ignore_index=True)
    return Fig1Runs(finals, common_cs, list(TUNED_CS), common_lr, [*marks, NGDIFF_AUTOLR])
