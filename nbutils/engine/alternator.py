"""One update of the DualOptim slides' Algorithm 1 (l. 3-14): forget and retain steps in turn.

Step t is a forget step when ``t mod (T_f + T_r) < T_f`` (the official code's schedule;
for T_f = T_r = 1 the tasks alternate, forget first), else a retain step. Each step
descends its task's objective (on a language model: -L_F, gradient ascent on F, and
L_R) through its task's optimizer state (``optim.TaskStates``, ``optim.DualOptimPlus``)
with its task's rate: theta <- theta - eta_task * states.update(task, g).

``gradient(task)`` supplies the (stochastic) gradient of the task's objective and the
numbers to record; it raises ``FloatingPointError`` when it meets a non-finite value,
which ends the run (``loop.run_loop``). The quadratic simulations of notebook 07 pass a
noise oracle that never raises.
"""

from __future__ import annotations

from collections.abc import Callable

from .gradients import Grads, add_

Gradient = Callable[[str], tuple[Grads, dict]]


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
        self.period, self.forget_steps = forget_steps + retain_steps, forget_steps

    def task(self, t: int) -> str:
        return "forget" if t % self.period < self.forget_steps else "retain"

    def step(self, t: int) -> dict:
        task = self.task(t)
        g, row = self.gradient(task)
        add_(self.params, self.states.update(task, g), -self.lr[task])
        return {"task": task, **row, "lr": self.lr[task]}
