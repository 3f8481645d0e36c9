"""The one run loop of Algorithm 1, the one place that seeds a run, and the run record.

Every run goes through ``run_loop``: the language model's (``engine.lm``), the image
classifier's (``studies.vision_unlearning``), the landscape walks of notebooks 01 and 03
(a ``visit`` at theta_t before each step) and the alternating schedules of the DualOptim
slides (``engine.alternator``). A caller brings a *step* (``t -> row``: the joint step of
NGDiff's Algorithm 1, ``engine.unlearner.Unlearner.step``, or one forget or retain update
of DualOptim's Algorithm 1, ``engine.alternator.Alternator.step``) and, if it wants, an
``evaluate`` every ``eval_every`` steps and after the last one.

``stream_seeds`` turns a run's seed into the seeds of its batch streams and of its
rule's random draws: the only place where that arithmetic is written, so runs with
equal seeds see equal batches whatever the method.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
import torch
from tqdm.auto import tqdm


@dataclass(frozen=True)
class StreamSeeds:
    """Seeds of one run: its retain, forget and probe batch streams, its rule's draws."""

    retain: int
    forget: int
    probe: int
    rule: int


def stream_seeds(seed: int) -> StreamSeeds:
    """4 seed + 1, + 2, + 3, + 4: no two runs' seeds share a stream."""
    return StreamSeeds(4 * seed + 1, 4 * seed + 2, 4 * seed + 3, 4 * seed + 4)


@dataclass
class Run:
    """One run. ``history``: one row per step (``step``, the step's numbers, a visit's,
    and at evaluation steps the evaluation, taken at theta_t before the step), then a
    last row (``step == steps``) with the evaluation after the final step.
    ``diverged_at``: the step at which a loss, a gradient or the parameters became
    non-finite (the history stops before it, and has no final evaluation).
    ``from_cache``: read from the run cache (``engine.runs``). ``config``: what
    produced the run (an ``engine.runs.Config``); ``model``: the unlearned model, when
    the caller keeps it (never cached)."""

    label: str
    seed: int
    history: pd.DataFrame
    seconds: float
    diverged_at: int | None = None
    from_cache: bool = False
    config: Any = None
    model: torch.nn.Module | None = None

    @property
    def final(self) -> dict:
        """The evaluation after the last step; a diverged run reports its step."""
        if self.diverged_at is not None:
            return {"diverged_at": self.diverged_at}
        return self.history.iloc[-1].dropna().to_dict()

    @property
    def final_lr(self) -> float:
        """The learning rate of the last step (AutoLR's last choice)."""
        lrs = self.history["lr"].dropna() if "lr" in self.history else []
        return float(lrs.iloc[-1]) if len(lrs) else math.nan


def parameters_finite(model: torch.nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def run_loop(
    step: Callable[[int], dict],
    steps: int,
    *,
    label: str,
    seed: int,
    model: torch.nn.Module | None = None,
    evaluate: Callable[[bool], dict] | None = None,
    eval_every: int | None = None,
    visit: Callable[[int], dict] | None = None,
    progress: bool = False,
) -> Run:
    """Run ``steps`` steps of ``step(t) -> row``, which raises ``FloatingPointError`` when
    a loss or gradient becomes non-finite (the run then stops: ``diverged_at = t``).

    Before step t: ``visit(t)`` (if given) and, when ``t % eval_every == 0``,
    ``evaluate(False)``; their numbers join the step's row. After the last step, when
    ``model``'s parameters are all finite, ``evaluate(True)`` (the final evaluation,
    which may score more) into a last row;
    non-finite parameters count as diverging at step ``steps``. The row of a diverged
    step is kept only when its visit measured something (``diverged`` set on it).
    """
    if steps < 1:
        raise ValueError(f"steps must be positive, got {steps}")
    if eval_every is not None and eval_every < 1:
        raise ValueError(f"eval_every must be positive or None, got {eval_every}")
    rows: list[dict] = []
    diverged_at = None
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=label, disable=not progress)
    for t in bar:
        row: dict = {"step": t}
        if visit is not None:
            row.update(visit(t))
        if evaluate is not None and eval_every is not None and t % eval_every == 0:
            row.update(evaluate(False))
        try:
            row.update(step(t))
        except FloatingPointError:
            diverged_at = t
            if visit is not None and len(row) > 1:
                rows.append({**row, "diverged": True})
            break
        rows.append(row)
        if "loss_retain" in row and "loss_forget" in row:
            bar.set_postfix(L_R=f"{row['loss_retain']:.3f}", L_F=f"{row['loss_forget']:.3f}")
    bar.close()
    if diverged_at is None and model is not None and not parameters_finite(model):
        diverged_at = steps
    if diverged_at is None and evaluate is not None:
        last = rows[-1] if rows else {}
        rows.append({"step": steps, **evaluate(True), **_carried(last)})
    return Run(label, seed, pd.DataFrame(rows), time.perf_counter() - start, diverged_at)


def _carried(row: dict) -> dict:
    """Counters that the last row repeats (cumulative forward passes)."""
    return {"forward_passes": row["forward_passes"]} if "forward_passes" in row else {}
