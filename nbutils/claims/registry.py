"""The registry: every claim of the sources that a notebook tests, by id."""

from __future__ import annotations

from . import dualoptim, ngdiff_experiments, ngdiff_method
from .model import Claim

SOURCES = (ngdiff_method, ngdiff_experiments, dualoptim)
REGISTRY: dict[str, Claim] = {c.id: c for source in SOURCES for c in source.CLAIMS}


def claim(claim_id: str) -> Claim:
    """A claim by id, with a clear error for an unknown one."""
    if claim_id not in REGISTRY:
        raise KeyError(f"unknown claim id {claim_id!r}; see nbutils.claims.REGISTRY")
    return REGISTRY[claim_id]


def of_notebook(stem: str) -> list[Claim]:
    return [c for c in REGISTRY.values() if c.notebook == stem]
