"""Negative Preference Optimization (NPO, Zhang et al. 2024; NGDiff Eq. 9).

    L_NPO = -(2/beta) E_F[ log sigmoid( -beta * log( p_theta(y|x) / p_ref(y|x) ) ) ]

with log p the summed (not length-normalized) answer-token log-likelihood and p_ref
the frozen starting model (NOTES.md). As the model forgets, log p_theta - log p_ref
falls and L_NPO tends to 0; for beta -> 0 it tends to twice the mean log-likelihood
ratio, i.e. gradient ascent.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..core.batches import Batch, Encoded, batches, token_nll


def answer_log_likelihood(model, batch: Batch) -> torch.Tensor:
    """Summed answer-token log-likelihood log p(y|x) per record, shape (B,)."""
    return -token_nll(model, batch).sum(dim=1)


def npo_loss(
    log_likelihood: torch.Tensor, reference_log_likelihood: torch.Tensor, beta: float = 0.1
) -> torch.Tensor:
    """Eq. 9 from per-record log-likelihoods of the model and of the reference."""
    if not beta > 0:
        raise ValueError(f"NPO needs beta > 0, got {beta!r}")
    ratio = log_likelihood - reference_log_likelihood
    return -(2.0 / beta) * F.logsigmoid(-beta * ratio).mean()


@torch.no_grad()
def reference_log_likelihoods(
    reference, items: list[Encoded], pad_id: int, batch_size: int = 64
) -> torch.Tensor:
    """log p_ref(y|x) of every record, computed once: the reference never changes."""
    device = next(reference.parameters()).device
    was_training = reference.training
    reference.eval()
    out = torch.cat(
        [
            answer_log_likelihood(reference, b.to(device)).float()
            for b in batches(items, batch_size, pad_id)
        ]
    )
    reference.train(was_training)
    return out
