"""Notebook 06's runs (NGDiff Sec. 5.3-5.4): Table 1 / Table 3 methods, each without and
with AutoLR, and Fig. 4's curves; the optimizers, evaluation seeds and ROUGE cadence that
notebook 02 shares, so both notebooks run the same comparison protocol (and runs).
"""

from __future__ import annotations

from ... import claims
from ...engine.autolr import AutoLR
from ...engine.runs import Config

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


def optimizers_to_run(optimizers: list[str]) -> list[str]:
    """The optimizers a notebook runs, in their order: Adam (the paper's setting) and SGD
    (Algorithm 1 as written) each have their own registry claims, so ``verdicts_only``
    keeps both."""
    for name in optimizers:
        if name not in SETTINGS:
            raise ValueError(f"optimizers must be among {list(SETTINGS)}, got {name!r}")
    return list(optimizers)


def claim_ids(names: list[str], optimizers) -> list[str]:
    """The registry ids of ``names`` for each optimizer (``<name>.<optimizer>``)."""
    return [f"{name}.{opt}" for opt in optimizers for name in names]


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
