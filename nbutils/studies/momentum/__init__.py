"""Notebook 07: shared vs decoupled optimizer state in alternating unlearning (DualOptim).

One module a topic:

- ``quadratics``: the slides' setting (Recipe 2) simulated, Eq. 1 with shared or
  decoupled momentum on many replicas of a noisy quadratic;
- ``theorem``: the variance theorem, exactly (covariance recursion, growth factors) and
  against the simulation, over grids of settings;
- ``language_model``: Algorithm 1 on the language model, and NGDiff + DualOptim (ours);
- ``official_protocol``: DualOptim's official LM protocol, its tuned rates and runs;
- ``verdicts``: the claims' measurements (Recipe 1, the theorem, stability) and tables;
- ``plots``: every figure of the notebook.

The names below are what the notebook calls.
"""

from ...engine.optim import LABELS
from .language_model import evaluations, joint_settings, run_all, steps_table, summary
from .official_protocol import Official, official_settings, run_official, unified_sgd_runs
from .plots import plot_grad_norms, plot_official, plot_theorem_grid, plot_variance
from .quadratics import Quadratics
from .theorem import compare, grid, theorem_grid
from .verdicts import (
    RECIPE1_CLAIM,
    SIMULATED_CLAIM,
    THEOREM_CLAIM,
    gradient_norm_ratios,
    measure_recipe1,
    measure_simulated,
    measure_stability,
    measure_theorem,
    stability_ids,
    stability_settings,
    std_table,
    with_settings,
)

__all__ = [
    "LABELS",
    "RECIPE1_CLAIM",
    "SIMULATED_CLAIM",
    "THEOREM_CLAIM",
    "Official",
    "Quadratics",
    "compare",
    "evaluations",
    "gradient_norm_ratios",
    "grid",
    "joint_settings",
    "measure_recipe1",
    "measure_simulated",
    "measure_stability",
    "measure_theorem",
    "official_settings",
    "plot_grad_norms",
    "plot_official",
    "plot_theorem_grid",
    "plot_variance",
    "run_all",
    "run_official",
    "stability_ids",
    "stability_settings",
    "std_table",
    "steps_table",
    "summary",
    "theorem_grid",
    "unified_sgd_runs",
    "with_settings",
]
