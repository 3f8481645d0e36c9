"""Statistics of many runs, the intervals and thresholds every verdict uses. Computes,
never plots.

Inputs are long tables, one row per run (``finals``) or per step and run
(``histories``), with a ``diverged_at`` column where runs can diverge. Every function
here is pure (numpy, pandas, scipy); none imports the rest of the package, so the engine
(tuning) and the studies (tables, claims) share one definition of each.

The thresholds of NGDiff's Table 1 and Sec. 5, with one comparison each:

- a run **forgets** when its ROUGE_F (Verbmem; on images: its forget accuracy FA) is
  below ``FORGET_BELOW`` = 0.1 (``forgets``);
- it **keeps utility** when its ROUGE_R (or TruthRatio) is at least ``KEEP_SHARE`` = 0.7
  x No-unlearn's (``keeps_utility``; Table 1: "maintain at least 70% of the Model utility
  and the TruthRatio compared to the No-unlearn");
- it **loses utility** when its ROUGE_R is at most ``LOST_AT_MOST`` = 0.3 x No-unlearn's
  (``loses_utility``; Sec. 5.4: "other methods retains only 0 ~ 30% Utility").

The 95% intervals of the verdicts (``estimate_mean``, ``estimate_std_ratio``,
``exact_minimum``; ``verdict`` reads them against a threshold) treat benchmark draws as a
random effect: over several draws the interval is over the draw means (D - 1 degrees of
freedom, their variance floored by the seeds' variance of a draw mean, so that draw
means that coincide do not make an interval of no width), seeds averaged within each
draw; within one draw it is over the seeds, and says "one draw"; one run has none, nor
do runs that all have one value, unless it is an end of the quantity's fixed range
(``at_bound_interval``: distribution-free). A mean's interval has the t interval's form,
mean -+ q s / sqrt(k), with q calibrated (``calibrated_t_quantile``) so that it covers the mean
at 95% or more for normal and skewed runs (``REFERENCE_SHAPES``: lognormal,
exponential, a [0, 1] quantity piled near 0): at 3 seeds Student's t covers such runs
only 84-90% of the time, and q is about 3 times t's. A std ratio's interval within one
draw is the F interval widened the same way (``calibrated_log_ratio_quantile``), over
draws a t interval on the log ratios. ``interval_coverage`` shows the coverage by
simulation at the sizes the notebooks use (``benchmarks/coverage.py`` prints it, with
the shapes beyond the calibration: within one draw, a lognormal of sigma 1.5 or a run
that collapses one time in five is covered only 80-90% of the time).
``draws_to_decide`` plans how many draws a pooled mean's verdict would need if its draws
kept their mean and spread.
"""

from .coverage import *  # noqa: F403
from .groups import *  # noqa: F403
from .intervals import *  # noqa: F403
from .planning import *  # noqa: F403
from .rules import *  # noqa: F403
from .verdicts import *  # noqa: F403
