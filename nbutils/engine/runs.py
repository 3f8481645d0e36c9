"""Many runs of a language model: one protocol, one job per run, grids.

A *protocol* fixes everything about a run except its method, learning rate and seed:
SGD as in Algorithm 1, 40 steps of batch 16 (about 15 epochs over F, the paper's
Appendix F.3), evaluation after the last step. Each method runs at its own rate, tuned
once on held-out seeds (``engine.tuning``; the grid and the number of held-out seeds are
the protocol's ``lr_grid`` and ``tuning_seeds``).

``lm_job`` makes one run an ``executor.Job`` (keyed in the run cache by everything that
determines it, the engine's source included, so notebooks share identical runs and a
changed engine never reuses a stale result); ``run_grid`` computes every config with
every seed in one batch of the executor, on every core.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import pandas as pd

from ..core import batches, metrics, rouge
from ..core.data import Benchmark
from ..core.jsonio import to_jsonable
from ..core.targets import TargetRef, open_target
from . import alternator, autolr, directions, lm, loop, methods, npo, optim, unlearner
from .autolr import AutoLR
from .executor import Job, cached_job, code_version, execute
from .loop import Run

ENGINE_VERSION = hashlib.sha256(
    "".join(
        inspect.getsource(m)
        for m in (
            unlearner,
            alternator,
            loop,
            lm,
            methods,
            directions,
            autolr,
            optim,
            npo,
            batches,
            metrics,
            rouge,
        )
    ).encode()
).hexdigest()[:16]


@dataclass(frozen=True)
class Protocol:
    """Everything about a run except its method, learning rate and seed."""

    optimizer: str = "sgd"
    steps: int = 40
    batch_size: int = 16
    eval_every: int | None = None  # None: evaluate after the last step only
    eval_retain: int | None = 100  # retain questions scored (the first N)
    truth_ratio: bool = False  # at the final evaluation only (with the per-question F values)
    max_new_tokens: int = 32
    lr_grid: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)
    tuning_seeds: int = 3  # held-out seeds each grid rate is tried on


@dataclass(frozen=True)
class Config:
    """One line of a comparison: a label, a method (``methods.METHODS`` name), its rate."""

    label: str
    method: str
    lr: float
    autolr: AutoLR | None = None


def run_spec(config: Config, protocol: Protocol, seed: int) -> dict:
    """What determines a run besides its model and data, for its run-cache key: method,
    rate, AutoLR rule, ``protocol`` (less the tuning grid and seeds, which only chose the
    rate), seed and the engine's version. Language-model and image runs alike."""
    return {
        "method": config.method,
        "lr": config.lr,
        "autolr": asdict(config.autolr) if config.autolr else None,
        "protocol": asdict(protocol) | {"lr_grid": None, "tuning_seeds": None},
        "seed": seed,
        "engine": ENGINE_VERSION,
    }


def target_spec(target, bench: Benchmark) -> dict:
    """What a run-cache key holds of the model and data a run starts from: the target's
    key, the benchmark's fingerprint and the device kind."""
    return {
        "target": target.key,
        "benchmark": bench.fingerprint(),
        "device": next(target.model.parameters()).device.type,
    }


def lm_job(
    target, bench: Benchmark, config: Config, protocol: Protocol, seed: int, cache: bool = True
) -> Job:
    """One unlearning run of ``target`` (a ``core.targets.Target``) under ``protocol`` as a
    job of the executor, cached under everything that determines it."""
    spec = {**target_spec(target, bench), **run_spec(config, protocol, seed)}
    args = (target.ref, bench, config, protocol, seed)
    return cached_job(unlearn_run, args, spec, config.label, seed, config, cache)


def unlearn_run(
    target: TargetRef, bench: Benchmark, config: Config, protocol: Protocol, seed: int
) -> Run:
    """The run of ``lm_job`` (in whichever process computes it)."""
    opened = open_target(target)
    return lm.unlearn_lm(
        opened.model,
        opened.tokenizer,
        bench,
        config.method,
        steps=protocol.steps,
        lr=config.lr,
        optimizer=protocol.optimizer,
        autolr=config.autolr,
        batch_size=protocol.batch_size,
        eval_every=protocol.eval_every,
        eval_retain=protocol.eval_retain,
        truth_ratio=protocol.truth_ratio,
        max_new_tokens=protocol.max_new_tokens,
        seed=seed,
        label=config.label,
        progress=False,
    )


def walk_job(
    target,
    bench: Benchmark,
    method: str,
    lr: float,
    protocol: Protocol,
    seed: int,
    visit: Callable[..., Callable],
    visit_args: tuple = (),
) -> Job:
    """A landscape walk (notebooks 01 and 03): ``method`` at ``lr`` for ``protocol.steps``
    steps with no evaluation, ``visit(*visit_args)`` measuring theta_t before each step
    (``visit``: a module-level function returning the visit, so that a worker can build
    it), as a cached job of the executor."""
    spec = {
        **target_spec(target, bench),
        "method": method,
        "lr": lr,
        "steps": protocol.steps,
        "batch_size": protocol.batch_size,
        "optimizer": protocol.optimizer,
        "seed": seed,
        "visit": code_version(visit),
        "visit_args": to_jsonable(visit_args),
        "engine": ENGINE_VERSION,
    }
    args = (target.ref, bench, method, lr, protocol, seed, visit, visit_args)
    return cached_job(walk_run, args, spec, method, seed)


def walk_run(
    target: TargetRef,
    bench: Benchmark,
    method: str,
    lr: float,
    protocol: Protocol,
    seed: int,
    visit: Callable[..., Callable],
    visit_args: tuple,
) -> Run:
    """The run of ``walk_job``."""
    opened = open_target(target)
    return lm.unlearn_lm(
        opened.model,
        opened.tokenizer,
        bench,
        method,
        steps=protocol.steps,
        lr=lr,
        optimizer=protocol.optimizer,
        batch_size=protocol.batch_size,
        seed=seed,
        visit=visit(*visit_args),
        evaluate=False,
        progress=False,
    )


def run_walks(
    target,
    bench: Benchmark,
    methods: dict[str, float],
    protocol: Protocol,
    seeds: Sequence[int],
    visit: Callable[..., Callable],
    visit_args: tuple = (),
    desc: str = "walks",
) -> pd.DataFrame:
    """Every method (name -> rate) walked on every seed (``walk_job``) in one batch of
    the executor: the histories in one long table with ``label`` and ``seed``."""
    jobs = [
        walk_job(target, bench, m, lr, protocol, s, visit, visit_args)
        for m, lr in methods.items()
        for s in seeds
    ]
    return Grid(execute(jobs, desc=desc)).histories


def run_config(
    target, bench: Benchmark, config: Config, protocol: Protocol, seed: int, cache: bool = True
) -> Run:
    """One unlearning run of ``target`` under ``protocol``, from the run cache when it was
    done before."""
    return execute([lm_job(target, bench, config, protocol, seed, cache)], progress=False)[0]


@dataclass
class Grid:
    """The runs of a comparison: ``finals`` (one row per run) and ``histories`` (long)."""

    records: list[Run] = field(default_factory=list)

    @property
    def finals(self) -> pd.DataFrame:
        return finals_table(self.records)

    @property
    def histories(self) -> pd.DataFrame:
        return pd.concat(
            [r.history.assign(label=r.label, seed=r.seed) for r in self.records],
            ignore_index=True,
        )


def finals_table(runs: Sequence[Run]) -> pd.DataFrame:
    """One row per run: ``label``, its config's ``method``, ``lr``, ``autolr`` (where the
    run has a config), ``seed``, ``diverged_at``, ``final_lr``, ``seconds``,
    ``from_cache`` and the final evaluation."""
    rows = []
    for r in runs:
        config = (
            {"method": r.config.method, "lr": r.config.lr, "autolr": r.config.autolr is not None}
            if isinstance(r.config, Config)
            else {}
        )
        rows.append(
            {
                "label": r.label,
                **config,
                "seed": r.seed,
                "diverged_at": r.diverged_at,
                "final_lr": r.final_lr,
                "seconds": r.seconds,
                "from_cache": r.from_cache,
                **r.final,
            }
        )
    return pd.DataFrame(rows)


def run_grid(
    target,
    bench: Benchmark,
    configs: list[Config],
    seeds: list[int],
    protocol: Protocol,
    *,
    desc: str = "unlearning runs",
    progress: bool = True,
) -> Grid:
    """Every config with every seed: one batch of the executor (one progress bar)."""
    jobs = [lm_job(target, bench, c, protocol, s) for c in configs for s in seeds]
    return Grid(execute(jobs, desc=desc, progress=progress))


def evaluate_target(target, bench: Benchmark, protocol: Protocol) -> dict:
    """A model's numbers under ``protocol``'s final evaluation (e.g. No-unlearn,
    retain-only): with ``protocol.truth_ratio`` the Truth Ratio summaries and the
    per-question forget values ``truth_ratio_forget_values``, as a run's last row."""
    return metrics.evaluate(
        target.model,
        target.tokenizer,
        bench,
        retain_limit=protocol.eval_retain,
        truth_ratios=protocol.truth_ratio,
        truth_ratio_values=protocol.truth_ratio,
        max_new_tokens=protocol.max_new_tokens,
    )
