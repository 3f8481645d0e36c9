"""Notebook 03: the loss landscape along gradient directions (NGDiff Fig. 3, Eq. 6,
Remark 4.1) and how well GeN's three-point probe sees it, one module per topic.

- ``visits``: what is measured at a run's steps (``engine.lm.unlearn_lm(..., visit=...)``):
  ``Snapshot`` (Fig. 3 and the GeN probes at one step) and ``ngdiff_fit_visit``
  (parabolas along the NGDiff direction at every step, Remark 4.1), walked by
  ``fit_walks``; the measuring itself (probes, exact derivatives by double backward) is
  ``engine.probes``;
- ``claims``: the fits summarised and the notebook's registry claims, measured;
- ``plots``: Fig. 3, the curvature across steps, GeN's probe error.
"""

from . import claims, plots, visits

__all__ = ["claims", "plots", "visits"]
