"""AutoLR's cost, timed (NGDiff Appendix C.1: with the rate updated every 10 iterations
"the overhead is less than 10%"): NGDiff at a fixed rate and with AutoLR on paired runs,
same seed and batches, no evaluation (``timed_pairs``), and per seed the timed overhead
and the counted extra forward passes (``timing_per_seed``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from ...engine import lm
from ...engine.autolr import AutoLR
from ...engine.loop import Run
from ...engine.runs import Protocol
from .trace import step_rows

PAPER_PERIOD = 10  # Appendix C.1: "if we update the learning rate every 10 iterations"


def timing_steps(protocol: Protocol, period: int = PAPER_PERIOD) -> int:
    """Steps of a timed run: the protocol's, at least one AutoLR period, rounded up to
    a whole number of periods (so the counted extra forwards are exactly 2/k)."""
    steps = max(protocol.steps, period)
    return period * math.ceil(steps / period)


TIMED_RULES = ("fixed", "AutoLR")


def timed_pairs(
    target,
    bench,
    protocol: Protocol,
    lr: float,
    seeds: Sequence[int],
    period: int = PAPER_PERIOD,
    progress: bool = True,
) -> pd.DataFrame:
    """AutoLR's cost, timed: per seed, NGDiff at the fixed rate ``lr`` and NGDiff +
    AutoLR (plain rule, ``period``) from ``lr``, ``timing_steps`` steps each under
    ``protocol``'s optimizer and batches, without evaluation (so ``Run.seconds`` is the
    steps' time alone), in the order fixed, AutoLR, AutoLR, fixed (drifts in the
    machine's load cancel to first order), after one untimed warm-up run of ``period``
    steps. Never cached: a timing is of this machine
    now. One row per run: ``seed``, ``rule`` (``TIMED_RULES``), ``repeat``, ``seconds``,
    ``steps`` (finished), ``seconds_per_step``, ``forwards`` (counted), ``diverged_at``."""
    from tqdm.auto import tqdm

    steps = timing_steps(protocol, period)
    autolrs = {"fixed": None, "AutoLR": AutoLR.plain(period)}

    def timed(rule: str, seed: int, steps: int) -> Run:
        return lm.unlearn_lm(
            target.model,
            target.tokenizer,
            bench,
            "NGDiff",
            steps=steps,
            lr=lr,
            optimizer=protocol.optimizer,
            autolr=autolrs[rule],
            batch_size=protocol.batch_size,
            eval_every=None,
            seed=seed,
            evaluate=False,
            progress=False,
        )

    timed("fixed", seeds[0], period)  # warm-up, not timed: first allocations, caches
    order = ("fixed", "AutoLR", "AutoLR", "fixed")
    jobs = [(seed, i, rule) for seed in seeds for i, rule in enumerate(order)]
    rows = []
    for seed, i, rule in tqdm(jobs, desc="timed pairs", disable=not progress):
        run = timed(rule, seed, steps)
        done = len(step_rows(run.history))
        rows.append(
            {
                "seed": seed,
                "rule": rule,
                "repeat": i // 2,
                "seconds": run.seconds,
                "steps": done,
                "seconds_per_step": run.seconds / done if done else math.nan,
                "forwards": int(run.history["forward_passes"].max()),
                "diverged_at": run.diverged_at,
            }
        )
    return pd.DataFrame(rows)


def timing_per_seed(timing: pd.DataFrame) -> pd.DataFrame:
    """Per seed, from ``timed_pairs``: mean ``seconds_per_step``, ``forwards`` and
    ``steps`` of each rule (columns ``<quantity>_<rule>``), ``overhead`` = AutoLR's
    seconds per step over the fixed rate's minus 1 (timed) and ``extra_forwards`` =
    AutoLR's forward passes per step minus the fixed rate's (counted: exact integers
    until the one division, so 8 extra forwards in 40 steps give exactly 0.2)."""
    columns = ["seconds_per_step", "forwards", "steps"]
    means = timing.groupby(["seed", "rule"])[columns].mean()
    wide = means.unstack("rule")
    wide.columns = [f"{quantity}_{rule}" for quantity, rule in wide.columns]
    wide["overhead"] = wide["seconds_per_step_AutoLR"] / wide["seconds_per_step_fixed"] - 1
    same = wide["steps_AutoLR"] == wide["steps_fixed"]  # a diverged run ends early
    extra = (wide["forwards_AutoLR"] - wide["forwards_fixed"]) / wide["steps_AutoLR"]
    wide["extra_forwards"] = extra.where(same)
    return wide
