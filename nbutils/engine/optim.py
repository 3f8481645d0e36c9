"""Optimizers as maps from a direction d to the update direction u (theta <- theta - lr u).

The learning rate is applied by the caller, because AutoLR picks it after probing the
loss along u: for SGD u = d (or its momentum buffer), for Adam u is the bias-corrected
Adam step. ``update(d)`` advances the optimizer's state exactly once per step (Adam's
moments do not depend on the learning rate), so probing along u never touches it.

Two tasks in turn (DualOptim slides; ``TaskStates``, ``DualOptimPlus``, ``make_states``)
map a task's direction to its update direction, ``update(task, d) -> u``, with ``task``
in ``("forget", "retain")``: one optimizer shared by both tasks (*Alternate*), one per
task (*DualOptim*), or a shared base state plus a residual per task (*DualOptim+*,
this project's construction: see its docstring).
"""

from __future__ import annotations

import torch

from .gradients import Grads


class SGD:
    """u = d, or with momentum mu: m <- mu m + d, u = m."""

    def __init__(self, params, momentum: float = 0.0):
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum!r}")
        self.momentum = momentum
        self.buffer = [torch.zeros_like(p) for p in params] if momentum else None

    def update(self, d: Grads) -> Grads:
        if self.buffer is None:
            return d
        torch._foreach_mul_(self.buffer, self.momentum)
        torch._foreach_add_(self.buffer, d)
        return self.buffer


class Adam:
    """Adam (Kingma and Ba): m <- b1 m + (1-b1) d, v <- b2 v + (1-b2) d^2,
    u = m_hat / (sqrt(v_hat) + eps) with bias corrections at step t.

    ``weight_decay`` wd > 0 makes it AdamW (decoupled decay, torch's order): u + wd theta
    with theta before the step, so theta <- theta (1 - lr wd) - lr u; ``decay`` says which
    parameters decay (default: those with 2 or more dimensions, i.e. not biases and
    LayerNorm weights, as Hugging Face's Trainer groups them). DualOptim's two-state
    AdamW (``AdamWDecoupleNormal``) is two of these in ``TaskStates``
    (tests/fixtures/authors)."""

    def __init__(
        self,
        params,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decay: list[bool] | None = None,
    ):
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay!r}")
        params = list(params)
        self.beta1, self.beta2 = betas
        self.eps, self.weight_decay = eps, weight_decay
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0
        decay = [p.dim() >= 2 for p in params] if decay is None else decay
        self.decayed = [i for i, flag in enumerate(decay) if flag] if weight_decay else []
        self.params = params

    def update(self, d: Grads) -> Grads:
        self.t += 1
        torch._foreach_mul_(self.m, self.beta1)
        torch._foreach_add_(self.m, d, alpha=1 - self.beta1)
        torch._foreach_mul_(self.v, self.beta2)
        torch._foreach_addcmul_(self.v, d, d, value=1 - self.beta2)
        u = torch._foreach_sqrt(self.v)
        torch._foreach_div_(u, (1 - self.beta2**self.t) ** 0.5)
        torch._foreach_add_(u, self.eps)
        torch._foreach_reciprocal_(u)
        torch._foreach_mul_(u, self.m)
        torch._foreach_div_(u, 1 - self.beta1**self.t)
        if self.decayed:
            torch._foreach_add_(
                [u[i] for i in self.decayed],
                [self.params[i].detach() for i in self.decayed],
                alpha=self.weight_decay,
            )
        return u


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make(name: str, params, **options):
    """``"sgd"`` or ``"adam"``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](params, **options)


# --------------------------------------------------------------------------- two tasks in turn

TASKS = ("forget", "retain")


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return task


class TaskStates:
    """One optimizer per task (DualOptim, decoupled momentum), or the same one for both
    (``TaskStates.shared``: Alternate, shared momentum)."""

    def __init__(self, forget, retain):
        self.states = {"forget": forget, "retain": retain}

    @classmethod
    def shared(cls, optimizer) -> TaskStates:
        return cls(optimizer, optimizer)

    @property
    def is_shared(self) -> bool:
        return self.states["forget"] is self.states["retain"]

    def update(self, task: str, d: Grads) -> Grads:
        """The active task's update direction; advances that task's state once."""
        return self.states[check_task(task)].update(d)


class DualOptimPlus:
    """DualOptim+ (slides, Eqs. 4-6): a shared base state B (factor a1, Eq. 4) updated by
    every gradient, and a residual state Delta per task (factor a2, Eq. 5) updated by
    that task's (g - B) right after B (Eq. 6). Not in the official DualOptim code: a
    verdict about DualOptim+ is about this construction.

    How the step is formed (the slides do not say; our choice): the first moment of the
    active task is m_task = B + Delta_task, the SVRG analogy of the slides (shared mean +
    the task's residual). With constant gradients its steady state is m_task = g_task
    whatever the relation of g_f and g_r, and the states split as the slides say: for
    g_f = g_r, B -> g and Delta -> 0, so the step is the shared state alone (Alternate);
    for g_f = -g_r, B oscillates with amplitude (1 - a1)/(1 + a1) |g| (about 0 for a1 near
    1) and Delta_task -> g_task - B, so the step is the task's own state (DualOptim). The
    bias correction divides by the same recurrences run on a constant 1 (for Adam this
    gives Adam's 1 - beta1^t): a constant gradient is returned unbiased from the first
    step. With ``adaptive=True`` (default, the Adam form used on language models) each
    task's gradient is first divided by the root of its own second moment (beta2,
    bias-corrected by the task's own step count): Recipe 1's per-task adaptive rate, as
    DualOptim's two Adams have; B and Delta are then kept on these preconditioned
    gradients. Keeping them on raw gradients with per-task second moments mixes scales: a
    large forget gradient in B, divided by the small retain second moment, blew the tiny
    LM up within 32 updates (lr 1e-3, measured). A second moment split into base +
    residual could turn negative.
    """

    def __init__(
        self,
        params,
        base_momentum: float = 0.9,
        residual_momentum: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        adaptive: bool = True,
        weight_decay: float = 0.0,
    ):
        for name, value in (
            ("base_momentum", base_momentum),
            ("residual_momentum", residual_momentum),
        ):
            if not 0 <= value < 1:
                raise ValueError(f"{name} must lie in [0, 1), got {value!r}")
        self.a1, self.a2 = base_momentum, residual_momentum
        self.beta2, self.eps, self.adaptive = beta2, eps, adaptive
        self.base = [torch.zeros_like(p) for p in params]
        self.residual = {t: [torch.zeros_like(p) for p in params] for t in TASKS}
        self.v = {t: [torch.zeros_like(p) for p in params] for t in TASKS} if adaptive else None
        self.count = dict.fromkeys(TASKS, 0)
        self.params = list(params)
        self.weight_decay = weight_decay  # decoupled, as optim.Adam's (matrices only)
        # the same recurrences run on a constant 1: the bias correction
        self.ones_base, self.ones_residual = 0.0, dict.fromkeys(TASKS, 0.0)

    def update(self, task: str, d: Grads) -> Grads:
        residual, a1, a2 = self.residual[check_task(task)], self.a1, self.a2
        self.count[task] += 1
        if self.adaptive:  # precondition by the task's own second moment
            v = self.v[task]
            torch._foreach_mul_(v, self.beta2)
            torch._foreach_addcmul_(v, d, d, value=1 - self.beta2)
            scale = torch._foreach_sqrt(v)
            torch._foreach_div_(scale, (1 - self.beta2 ** self.count[task]) ** 0.5)
            torch._foreach_add_(scale, self.eps)
            d = torch._foreach_div(d, scale)
        torch._foreach_mul_(self.base, a1)  # Eq. 6: B <- a1 B + (1 - a1) g
        torch._foreach_add_(self.base, d, alpha=1 - a1)
        torch._foreach_mul_(residual, a2)  # Delta <- a2 Delta + (1 - a2)(g - B)
        torch._foreach_add_(residual, d, alpha=1 - a2)
        torch._foreach_add_(residual, self.base, alpha=-(1 - a2))
        self.ones_base = a1 * self.ones_base + (1 - a1)
        self.ones_residual[task] = a2 * self.ones_residual[task] + (1 - a2) * (1 - self.ones_base)
        u = torch._foreach_add(self.base, residual)
        torch._foreach_div_(u, self.ones_base + self.ones_residual[task])
        decayed = [i for i, p in enumerate(self.params) if p.dim() >= 2]
        if self.weight_decay and decayed:
            torch._foreach_add_(
                [u[i] for i in decayed],
                [self.params[i].detach() for i in decayed],
                alpha=self.weight_decay,
            )
        return u


SCHEMES = ("alternate", "dualoptim", "dualoptim+")
LABELS = {"alternate": "Alternate", "dualoptim": "DualOptim", "dualoptim+": "DualOptim+"}


def make_states(scheme: str, params, optimizer: str = "adam", weight_decay: float = 0.0):
    """The task states of a scheme of Algorithm 1. ``optimizer`` is the pretraining
    optimizer ("adam" for the tiny target, fine-tuned with AdamW): Alternate uses it for
    both tasks; DualOptim uses Adam for forget steps and it for retain steps, each with
    its own state and bias-correction counter (the official ``AdamWDecoupleNormal``);
    DualOptim+ is Adam-like (a1 = a2 = beta1 = 0.9, beta2 = 0.999). ``weight_decay``:
    decoupled (AdamW) decay in every Adam-like state; SGD ignores it."""
    params = list(params)
    adam = {"weight_decay": weight_decay} if weight_decay else {}
    pretraining = adam if optimizer == "adam" else {}
    if scheme == "alternate":
        return TaskStates.shared(make(optimizer, params, **pretraining))
    if scheme == "dualoptim":
        return TaskStates(Adam(params, **adam), make(optimizer, params, **pretraining))
    if scheme == "dualoptim+":
        return DualOptimPlus(params, weight_decay=weight_decay)
    raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")


def joint_update(states, d_retain: Grads, d_forget: Grads) -> Grads:
    """One joint step from both tasks' directions: shared states take their sum (one
    state advance, as ``unlearn`` does), decoupled ones each their own, and the two
    update directions add. For SGD momentum the two agree (linearity); for Adam they
    do not."""
    if getattr(states, "is_shared", False):
        return states.update("retain", torch._foreach_add(d_retain, d_forget))
    u = states.update("retain", d_retain)
    u = torch._foreach_add(u, states.update("forget", d_forget))  # a copy: buffers move on
    return u
