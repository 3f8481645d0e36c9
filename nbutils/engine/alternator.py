"""One update of the DualOptim slides' Algorithm 1 (l. 3-14): forget and retain steps in turn.

Step t is a forget step when ``t mod (T_f + T_r) < T_f`` (the official code's schedule;
for T_f = T_r = 1 the tasks alternate, forget first), else a retain step. Each step
descends its task's objective (on a language model: -L_F, gradient ascent on F, and
L_R) through its task's optimizer state (``optim.TaskStates``, ``optim.DualOptimPlus``)
with its task's rate: theta <- theta - eta_task * states.update(task, g).

The official code's extras (CityU-MLO/DualOptim, NOTES.md) are options: ``schedule``
multiplies both rates at step t (``linear_schedule``: warm-up then linear decay to 0, as
Hugging Face's Trainer), ``clip_norm`` clips each gradient to that global norm (the
Trainer's max_grad_norm 1.0); weight decay lives in the task states.

``gradient(task)`` supplies the (stochastic) gradient of the task's objective and the
numbers to record; it raises ``FloatingPointError`` when it meets a non-finite value,
which ends the run (``loop.run_loop``). The quadratic simulations of notebook 07 pass a
noise oracle that never raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .gradients import Grads, add_, clip_

Gradient = Callable[[str], tuple[Grads, dict]]


def parse_schedule(text: str) -> tuple[int, int]:
    """``"T_f:T_r"`` (positive integers, e.g. the official ``"1:5"``) as ``(T_f, T_r)``;
    ``ValueError`` saying what is wrong otherwise."""
    parts = text.split(":") if isinstance(text, str) else []
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise ValueError(f"a schedule is 'T_f:T_r' with positive integers, got {text!r}")
    forget, retain = (int(p) for p in parts)
    if forget < 1 or retain < 1:
        raise ValueError(f"a schedule's T_f and T_r must be positive, got {text!r}")
    return forget, retain


def official_steps(
    n_forget: int, n_retain: int, batch_size: int, forget_steps: int, retain_steps: int, epochs: int
) -> tuple[int, int]:
    """The official code's length of a run (``LLM/forget.py``): an epoch is one pass over
    the set that runs out first at T_f : T_r, counted in updates, e.g. for F:
    (1 + T_r / T_f) * ceil(|F| / batch) updates; the run is ``epochs`` of them and the
    warm-up one of them (none when an epoch is a single update). Returns (steps, warmup)."""
    if min(n_forget, n_retain, batch_size, forget_steps, retain_steps, epochs) < 1:
        raise ValueError("set sizes, batch size, T_f, T_r and epochs must be positive")
    if math.ceil(n_forget / forget_steps) <= math.ceil(n_retain / retain_steps):
        per_epoch = int((1 + retain_steps / forget_steps) * math.ceil(n_forget / batch_size))
    else:
        per_epoch = int((1 + forget_steps / retain_steps) * math.ceil(n_retain / batch_size))
    return epochs * per_epoch, per_epoch if per_epoch > 1 else 0


class Alternator:
    """``step(t)``: one forget or retain update of Algorithm 1; returns the row
    ``task``, ``lr`` and what ``gradient`` recorded."""

    def __init__(
        self,
        params,
        states,
        gradient: Gradient,
        *,
        lr_forget: float,
        lr_retain: float,
        forget_steps: int = 1,
        retain_steps: int = 1,
        schedule: Callable[[int], float] | None = None,
        clip_norm: float | None = None,
    ):
        if forget_steps < 0 or retain_steps < 0 or forget_steps + retain_steps < 1:
            raise ValueError(
                f"forget_steps and retain_steps must be >= 0 with at least one step, got "
                f"{forget_steps}, {retain_steps}"
            )
        if not (lr_forget > 0 and lr_retain > 0):
            raise ValueError(f"rates must be positive, got {lr_forget!r}, {lr_retain!r}")
        self.params, self.states, self.gradient = list(params), states, gradient
        self.lr = {"forget": lr_forget, "retain": lr_retain}
        self.schedule, self.clip_norm = schedule, clip_norm
        self.period, self.forget_steps = forget_steps + retain_steps, forget_steps

    def task(self, t: int) -> str:
        return "forget" if t % self.period < self.forget_steps else "retain"

    def step(self, t: int) -> dict:
        task = self.task(t)
        g, row = self.gradient(task)
        if self.clip_norm is not None:
            clip_(g, self.clip_norm)
        lr = self.lr[task] * (self.schedule(t) if self.schedule is not None else 1.0)
        add_(self.params, self.states.update(task, g), -lr)
        return {"task": task, **row, "lr": lr}


def linear_schedule(steps: int, warmup: int) -> Callable[[int], float]:
    """Hugging Face's linear schedule with warm-up, as a factor of the rate at step t
    (0-based): t / warmup during the warm-up, then (steps - t) / (steps - warmup) down to
    0. The official DualOptim code warms up for one epoch over F (a one-epoch run is
    warm-up throughout, as in Hugging Face's ``get_linear_schedule_with_warmup``)."""
    if not 0 <= warmup <= steps or steps < 1:
        raise ValueError(f"need 0 <= warmup <= steps, got warmup={warmup}, steps={steps}")

    def factor(t: int) -> float:
        if t < warmup:
            return t / warmup
        return max(0.0, (steps - t) / (steps - warmup)) if steps > warmup else 0.0

    return factor
