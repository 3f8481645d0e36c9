"""Notebook 05: what AutoLR does during unlearning (NGDiff Fig. 7), its cost (Appendix
C.1) and its sensitivity to its own settings (initial rate, period), one module per topic.

- ``trace``: what AutoLR did during a run (Fig. 7's traces, rejected fits, counted
  forward passes, eta's path);
- ``settings``: the runs of notebook 05 (Fig. 7's from the middle of the rate grid, the
  starts and periods around the tuned rate) and their summary in a table and in words;
- ``timing``: AutoLR's overhead timed on paired runs (Appendix C.1);
- ``claims``: the notebook's registry claims, measured;
- ``plots``: Fig. 7 and the settings' figure with the timed cost.
"""

from . import claims, plots, settings, timing, trace

__all__ = ["claims", "plots", "settings", "timing", "trace"]
