"""Helpers for the unlearning-as-multi-task-optimization notebooks (NGDiff, AutoLR, DualOptim).

``import nbutils as nbu``; a notebook opens with ``nbu.setup(...)``, reads its rates with
``nbu.tuned_rates(...)`` and saves figures with ``nbu.save_figure(...)``. The folders are
the layers, each importing only those below it: ``core``, ``stats``, ``engine``, ``claims``,
``studies``; ``reproduce`` is the notebook plumbing above them (``python -m nbutils``).
"""

from . import claims, core, engine, stats, studies
from .reproduce import catalog, presets
from .reproduce.figures import save_figure
from .reproduce.session import setup
from .reproduce.tuning_plans import tuned_rates

__version__ = "0.1.0"
__all__ = [
    "catalog",
    "claims",
    "core",
    "engine",
    "presets",
    "save_figure",
    "setup",
    "stats",
    "tuned_rates",
    "studies",
]
