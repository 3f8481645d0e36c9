"""Sizes and settings shared by the notebooks: default, smoke, and (later) paper scale.

A notebook asks for its benchmark and target through these functions so that every
notebook run with the same parameters uses the same cached target.
"""

from __future__ import annotations

from .data import Benchmark, load_benchmark
from .models import Target, TargetSettings, train_target

SMOKE_AUTHORS = 10
SMOKE_TARGET = TargetSettings(
    lr=5e-3,
    batch_size=16,
    max_epochs=40,
    vocab_size=1024,
    model_config=dict(n_embd=64, n_layer=2, n_head=2, n_positions=128),
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
