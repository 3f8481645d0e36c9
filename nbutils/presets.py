"""Sizes and settings shared by the notebooks: default and smoke size.

A notebook asks for its benchmark, target, unlearning protocol and seeds through these
functions, so that every notebook run with the same parameters uses the same cached
target and the same protocol.
"""

from __future__ import annotations

from dataclasses import replace

from .data import Benchmark, load_benchmark
from .experiments import Protocol
from .models import Target, TargetSettings, train_target

SMOKE_AUTHORS = 10
SMOKE_SEEDS = 2
SMOKE_TARGET = TargetSettings(
    lr=5e-3,
    batch_size=16,
    max_epochs=40,
    vocab_size=1024,
    model_config=dict(n_embd=64, n_layer=2, n_head=2, n_positions=128),
)
PROTOCOL = Protocol()
SMOKE_PROTOCOL = Protocol(
    steps=6, batch_size=8, eval_retain=20, max_new_tokens=24, lr_grid=(0.03, 0.3)
)


def benchmark(session, n_authors: int | None = None) -> Benchmark:
    """The session's benchmark; smoke size keeps ``SMOKE_AUTHORS`` authors."""
    p = session.params
    authors = n_authors or p.get("n_authors", 40)
    return load_benchmark(
        p["dataset"],
        seed=p["seed"],
        n_authors=min(authors, SMOKE_AUTHORS) if p["smoke"] else authors,
    )


def target_settings(session) -> TargetSettings:
    return SMOKE_TARGET if session.smoke else TargetSettings()


def target(session, bench: Benchmark, splits: str = "all") -> Target:
    """The fine-tuned target for the session (trained once, then loaded from the cache)."""
    return train_target(
        bench,
        session.params["model"],
        seed=session.seed,
        settings=target_settings(session),
        splits=splits,
        device=session.device,
    )


def protocol(session, **overrides) -> Protocol:
    """The unlearning protocol of the session (smoke: 6 steps, small evaluation)."""
    return replace(SMOKE_PROTOCOL if session.smoke else PROTOCOL, **overrides)


def seeds(session) -> list[int]:
    """Evaluation seeds ``seed, seed + 1, ...``: ``n_seeds`` of them, at most 2 at smoke size."""
    n = session.params.get("n_seeds", 1)
    return [session.seed + i for i in range(min(n, SMOKE_SEEDS) if session.smoke else n)]
