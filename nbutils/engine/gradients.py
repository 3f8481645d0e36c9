"""Gradients as lists of tensors, one per parameter: no flattened copy of the model.

Norms and inner products run across the list (DESIGN.md, "Direction rules are pure
functions"); a parameter that receives no gradient is skipped, not treated as zero
(NOTES.md, "Gradient norms").
"""

from __future__ import annotations

import torch

Grads = list[torch.Tensor]


def trainable(model: torch.nn.Module) -> list[torch.nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def task_gradient(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> Grads:
    """d loss / d params; parameters the loss does not reach get zeros (and count as such
    nowhere else: their entries add nothing to norms or inner products)."""
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return [g if g is not None else torch.zeros_like(p) for g, p in zip(grads, params)]


def _flat(x: torch.Tensor) -> torch.Tensor:
    """A 1-D view in float32 or float64 (half precision is upcast)."""
    return x.reshape(-1) if x.dtype in (torch.float32, torch.float64) else x.reshape(-1).float()


def dot(a: Grads, b: Grads) -> float:
    """Inner product across the list: per tensor in its own precision (at least
    float32), the per-tensor results summed in float64."""
    return torch.stack([torch.dot(_flat(x), _flat(y)).double() for x, y in zip(a, b)]).sum().item()


def sq_norm(a: Grads) -> float:
    """Squared L2 norm across the list (per-tensor norms fused, squared sum in float64).
    A NaN or inf anywhere makes it non-finite."""
    return torch.stack(torch._foreach_norm(a)).double().square().sum().item()


def add_(params, direction: Grads, alpha: float) -> None:
    """params += alpha * direction, in place."""
    with torch.no_grad():
        torch._foreach_add_(list(params), list(direction), alpha=alpha)


def clip_(grads: Grads, max_norm: float) -> float:
    """Scale ``grads`` in place to global L2 norm at most ``max_norm``, as
    ``torch.nn.utils.clip_grad_norm_`` (and so Hugging Face's Trainer, max_grad_norm 1.0)
    does: by max_norm / (norm + 1e-6) when that is below 1. Returns the norm before."""
    norm = sq_norm(grads) ** 0.5
    scale = max_norm / (norm + 1e-6)
    if scale < 1:
        torch._foreach_mul_(grads, scale)
    return norm
