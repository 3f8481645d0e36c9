"""Optimizers as maps from a direction d to the update direction u (theta <- theta - lr u).

The learning rate is applied by the caller, because AutoLR picks it after probing the
loss along u: for SGD u = d (or its momentum buffer), for Adam u is the bias-corrected
Adam step. ``update(d)`` advances the optimizer's state exactly once per step (Adam's
moments do not depend on the learning rate), so probing along u never touches it.
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
    u = m_hat / (sqrt(v_hat) + eps) with bias corrections at step t."""

    def __init__(self, params, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]
        self.t = 0

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
        return u


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make(name: str, params, **options):
    """``"sgd"`` or ``"adam"``."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](params, **options)
