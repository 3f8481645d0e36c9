"""What a claim is: its source, its words, the quantity that tests it, and its kind."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import stats

# Kinds, in the order tables show them; only evidence counts in a scorecard's summary.
KINDS = {
    "evidence": "Evidence (the data could make it fail)",
    "exact": "Exact checks of a source's mathematics (computed, no data: no interval)",
    "own": "The collection's own checks (not a source's claim)",
    "sanity": "Sanity checks (true by construction: shown, never evidence)",
}
ADAM, SGD = "Adam (the paper's F.3 setting)", "SGD (Algorithm 1 as written)"
SETTINGS = {"adam": ADAM, "sgd": SGD}
# The grid and the rate rule a claim's runs rest on.
TUNED = {
    opt: f"each method at its rate tuned on draw 0's held-out seeds 1000-1002 over the {grid}, "
    "by stats.choose_rate with successive halving (figures/tuned_rates.json)"
    for opt, grid in (
        ("adam", "Adam grid nbu.presets.ADAM_RATES (3e-5 to 3e-3)"),
        ("sgd", "SGD grid Protocol.lr_grid (0.01 to 1)"),
    )
}
NO_RATE = "no unlearning rate (fine-tuning only)"
UNIT = (0.0, 1.0)  # the range of a share, a ROUGE score or an accuracy

# statistic -> estimator (runs (n, c) finite, the value first; draws (n,); over_draws)
STATISTICS: dict[str, Callable[..., stats.Estimate]] = {
    "mean": stats.estimate_mean,
    "all": stats.exact_minimum,  # "for every ..." over exact (noise-free) units: the smallest
    "std_ratio": stats.estimate_std_ratio,
}


@dataclass(frozen=True)
class Claim:
    """One claim of a source, as a notebook tests it: ``statement`` in the source's words,
    the ``quantity`` measured per run, the ``threshold`` (``threshold_source``: where its
    number comes from) and ``direction``, its ``kind`` (``KINDS``), the ``setting`` and the
    ``rates`` (grid and rule) its runs rest on; ``bounds``: the range every run's value
    lies in when it is fixed (``UNIT``: a share, ROUGE, an accuracy), which gives runs that
    all sit at one end an interval (``stats.estimate_mean``)."""

    id: str
    notebook: str
    source: str
    statement: str
    quantity: str
    threshold: float
    direction: str  # "above", "at_least", "below", "at_most" (stats.verdict)
    kind: str = "evidence"
    setting: str = ""
    statistic: str = "mean"  # STATISTICS key
    rates: str = ""
    threshold_source: str = ""
    bounds: tuple[float, float] | None = None  # the quantity's fixed range (UNIT), if any

    def __post_init__(self):
        if self.kind not in KINDS:
            kinds = list(KINDS)
            raise ValueError(f"claim {self.id}: kind must be one of {kinds}, got {self.kind!r}")
        if self.statistic not in STATISTICS:
            raise ValueError(f"claim {self.id}: unknown statistic {self.statistic!r}")
        if self.bounds is not None and self.statistic != "mean":
            raise ValueError(f"claim {self.id}: bounds apply to a mean only")
        stats.verdict(0.0, 0.0, self.threshold, self.direction)  # checks the direction
