"""The sources' claims, one registry, and their verdicts with intervals over runs.

Every claim of the NGDiff paper and of the DualOptim slides that a notebook tests is one
``Claim``: an id, its source (section, figure, slide), the statement in the source's
words, the quantity measured per run, a threshold (and where its number comes from) and a
direction, the grid and rate rule its runs rest on, and its kind: ``evidence`` (data could
make it fail), ``exact`` (a source's mathematics computed, no data), ``own`` (the
collection's own check, not a source's claim) or ``sanity`` (true by construction: an
identity, a counted cost); only evidence counts. The registry lives in ``ngdiff_method``,
``ngdiff_experiments`` and ``dualoptim``, by source and topic.

A notebook measures its claims into a long table, one row per claim and run (``claim``,
``draw``: the benchmark seed, ``seed``: the unlearning seed, ``value``; ``reference`` for
ratio statistics), and ``evaluate`` turns it into verdicts: the claim's statistic over
runs with a 95% interval, and holds / fails / inconclusive by where the interval lies
against the threshold (``stats.verdict``). The interval treats benchmark draws as a
random effect: over several draws it is over the draw means (a mean: the t interval's
form with a quantile calibrated to cover skewed runs too, ``stats.estimate_mean``; a
std ratio: a t interval on the draws' log ratios, ``stats.estimate_std_ratio``); within
one draw it is over the seeds and the verdict is noted "one draw"; one run gives no
interval (inconclusive, and the note says so), nor do runs that all have one value,
unless that value is an end of the quantity's fixed range (``Claim.bounds``: then a
distribution-free bound, ``stats.at_bound_interval``); exact statistics are their own interval
(``stats.exact_minimum``). ``benchmarks/coverage.py`` shows their coverage. A value of
NaN is a run that has no value (counted in ``n_runs``, not in ``n_finished``); how a
diverged run counts is the measuring code's choice, said in ``quantity``.

``for_sidecar`` writes a figure's own claims with every run's value, so that the
scorecard (``python -m nbutils scorecard``) can pool the same claims over several
benchmark draws and evaluate them again, draws as a random effect.

Also here, the formatting every sidecar shares: ``finite_claims`` (NaN becomes words),
``finite_or`` and ``method_summary``.
"""

from .model import ADAM, KINDS, SETTINGS, SGD, STATISTICS, TUNED, UNIT, Claim
from .registry import REGISTRY, claim, of_notebook
from .verdicts import (
    MEASUREMENT_COLUMNS,
    evaluate,
    finite_claims,
    finite_or,
    for_sidecar,
    measurement,
    method_summary,
    runs_of,
    threshold_text,
    verdict_table,
)

__all__ = [
    "ADAM",
    "KINDS",
    "MEASUREMENT_COLUMNS",
    "REGISTRY",
    "SETTINGS",
    "SGD",
    "STATISTICS",
    "TUNED",
    "UNIT",
    "Claim",
    "claim",
    "evaluate",
    "finite_claims",
    "finite_or",
    "for_sidecar",
    "measurement",
    "method_summary",
    "of_notebook",
    "runs_of",
    "threshold_text",
    "verdict_table",
]
