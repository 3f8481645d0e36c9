"""Helpers for the unlearning-as-multi-task-optimization notebooks (NGDiff, AutoLR, DualOptim).

``import nbutils as nbu``; a notebook opens with ``nbu.setup(...)`` and saves figures with
``nbu.save_figure(...)``. The package reads in layers, each importing only those below it:

- ``core``: what is measured and on what (benchmarks, models, batches, metrics, verbmem,
  MIA, the digits), plus where things live (``core.paths``) and JSON I/O;
- ``stats``: group statistics, intervals, bands, the rate rule and the success
  thresholds (pure; imported by the engine's tuning and by the studies);
- ``engine``: gradients, direction rules, AutoLR, optimizers (DualOptim's states too),
  NPO, the one run loop (``engine.loop``), cached runs, grids and tuning;
- ``claims``: claims as sidecars state them;
- ``studies``: one module or package per notebook (its tables, claims and ``plot_*``; a
  package holds one module per topic), and the one figure style (``studies.style``);
- notebook plumbing: ``session``, ``params``, ``presets``, ``catalog``, ``figures``
  (``save_figure``), ``scorecard``, ``site``, ``sidecars`` (two runs' sidecars compared),
  ``cli`` (``python -m nbutils``).
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
