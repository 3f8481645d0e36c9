"""How many benchmark draws a pooled verdict would need: a plan read from the spread the
draws showed, never evidence (the next draws may move the mean or the spread)."""

from __future__ import annotations

import math

from .intervals import CALIBRATED_UP_TO, CONFIDENCE, calibrated_t_quantile
from .verdicts import verdict


def draws_to_decide(
    value: float,
    low: float,
    high: float,
    draws: int,
    threshold: float,
    direction: str,
    up_to: int = CALIBRATED_UP_TO,
    confidence: float = CONFIDENCE,
) -> tuple[int | None, str]:
    """The fewest draws D' (``draws`` <= D' <= ``up_to``) at which the pooled interval of
    a mean (``draw_means_interval``: value -+ q(D) s / sqrt(D), q the calibrated
    quantile) would decide the claim if the draw means kept their mean ``value`` and
    their spread s, read from the interval [``low``, ``high``] measured over ``draws``
    draw means; and that verdict. (None, "inconclusive") when no D' up to ``up_to`` does
    (the value on or too near the threshold) or there is no interval to read s from."""
    if draws < 2 or not (math.isfinite(low) and math.isfinite(high)):
        return None, "inconclusive"
    spread = (high - low) / 2 / calibrated_t_quantile(draws, confidence) * math.sqrt(draws)
    for more in range(draws, up_to + 1):
        half = calibrated_t_quantile(more, confidence) * spread / math.sqrt(more)
        decided = verdict(value - half, value + half, threshold, direction)
        if decided != "inconclusive":
            return more, decided
    return None, "inconclusive"
