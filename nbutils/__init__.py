"""Helpers for the unlearning-as-multi-task-optimization notebooks.

``import nbutils as nbu``; a notebook opens with ``nbu.setup(...)`` and saves figures
with ``nbu.save_figure(...)``. Each submodule holds one stage of the data flow:
data -> models -> unlearning (directions, autolr, npo, optim, unlearn, experiments)
-> metrics -> figures.

The figure notebooks import their own module by name (``from nbutils import pareto``):
geometry (Fig. 2, Lemma 4, Theorem 5), landscape (Fig. 3, GeN probes), pareto and
comparison (Figs. 1 and 4, Tables 1 and 3), sensitivity (Figs. 5-7), momentum and
alternating (DualOptim), vision and mia (Table 4), verbmem (MUSE-style verbatim
memorization).
"""

from . import (
    autolr,
    batches,
    catalog,
    data,
    directions,
    experiments,
    figures,
    gradients,
    metrics,
    models,
    npo,
    optim,
    paths,
    presets,
    runtime,
    unlearn,
)
from .figures import save_figure
from .session import setup

__version__ = "0.1.0"
__all__ = [
    "autolr",
    "batches",
    "catalog",
    "data",
    "directions",
    "experiments",
    "figures",
    "gradients",
    "metrics",
    "models",
    "npo",
    "optim",
    "paths",
    "presets",
    "runtime",
    "save_figure",
    "setup",
    "unlearn",
]
