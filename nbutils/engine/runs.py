"""Many runs of a language model: one protocol, cached runs, grids, tuned rates.

A *protocol* fixes everything about a run except its method, learning rate and seed:
SGD as in Algorithm 1, 40 steps of batch 16 (about 15 epochs over F, the paper's
Appendix F.3), evaluation after the last step. Under SGD each rule's direction has its
own natural size (LossNorm's is 1/L times the gradient, NGDiff's has norm at most 2), so
one rate for all would be unfair to some: ``tune_rate`` gives each method its rate,
chosen on ``Protocol.tuning_seeds`` held-out seeds (3 by default; never an evaluation
seed) from a fixed grid by ``stats.choose_rate`` applied to the median over those seeds
(the paper's "manually tuned" rates, made reproducible; one held-out seed let a lucky
draw pick a rate that destroyed R on the evaluation seeds).

Runs are cached on disk like targets, keyed by everything that determines them,
including a hash of the engine's source, so notebooks share identical runs and a
changed engine never reuses a stale result.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from .. import stats
from ..core import batches, metrics, paths
from ..core.data import Benchmark
from ..core.jsonio import atomic_write, computing, to_jsonable
from . import alternator, autolr, directions, lm, loop, methods, npo, optim, unlearner
from .autolr import AutoLR
from .loop import Run

TUNING_SEED_OFFSET = 1000  # tuning runs use seed + 1000, + 1001, ...: never evaluation seeds

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


def _key(target, bench: Benchmark, config: Config, protocol: Protocol, seed: int) -> str:
    spec = {
        "target": target.key,
        "benchmark": bench.fingerprint(),
        "method": config.method,
        "lr": config.lr,
        "autolr": asdict(config.autolr) if config.autolr else None,
        "protocol": asdict(protocol) | {"lr_grid": None, "tuning_seeds": None},
        "seed": seed,
        "engine": ENGINE_VERSION,
        # bit-identical only at the same torch build and thread count
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


@dataclass
class Ledger:
    """The runs this process asked for: computed (and their seconds) or read from the
    cache. A sidecar's provenance carries it, so a cold run's cost is on record."""

    computed: int = 0
    from_cache: int = 0
    compute_s: float = 0.0

    def count(self, run: Run) -> Run:
        if run.from_cache:
            self.from_cache += 1
        else:
            self.computed += 1
            self.compute_s += run.seconds
        return run

    def as_dict(self) -> dict:
        return {
            "computed": self.computed,
            "from_cache": self.from_cache,
            "compute_s": round(self.compute_s, 1),
        }


LEDGER = Ledger()


def cached_run(path: Path, compute: Callable[[], Run], label: str, seed: int, config=None) -> Run:
    """``compute()``'s run, stored at ``path`` (history, seconds, divergence step); read
    back instead when this or another process computed it before. Counted in ``LEDGER``."""
    with computing(path) as mine:
        if not mine:
            try:
                stored = json.loads(path.read_text())
                run = Run(
                    label,
                    seed,
                    pd.DataFrame(stored["history"]),
                    stored["seconds"],
                    stored["diverged_at"],
                    from_cache=True,
                    config=config,
                )
            except (ValueError, KeyError):
                path.unlink(missing_ok=True)  # unreadable: run it again
                return cached_run(path, compute, label, seed, config)
            return LEDGER.count(run)
        record = compute()
        text = json.dumps(
            {
                "history": to_jsonable(record.history),
                "seconds": record.seconds,
                "diverged_at": record.diverged_at,
            }
        )
        atomic_write(path, lambda tmp: Path(tmp).write_text(text))
    return LEDGER.count(record)


def run_config(
    target, bench: Benchmark, config: Config, protocol: Protocol, seed: int, cache: bool = True
) -> Run:
    """One unlearning run of ``target`` (a ``core.models.Target``) under ``protocol``,
    from the disk cache when it was done before."""
    if not cache:
        return LEDGER.count(_run(target, bench, config, protocol, seed))
    path = paths.cache_dir() / "runs" / f"{_key(target, bench, config, protocol, seed)}.json"
    return cached_run(
        path, lambda: _run(target, bench, config, protocol, seed), config.label, seed, config
    )


def _run(target, bench: Benchmark, config: Config, protocol: Protocol, seed: int) -> Run:
    start = time.perf_counter()
    run = lm.unlearn_lm(
        target.model,
        target.tokenizer,
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
    return Run(
        config.label, seed, run.history, time.perf_counter() - start, run.diverged_at, config=config
    )


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
    """Every config with every seed (one progress bar over all runs)."""
    grid = Grid()
    jobs = [(c, s) for c in configs for s in seeds]
    for config, seed in tqdm(jobs, desc=desc, disable=not progress):
        grid.records.append(run_config(target, bench, config, protocol, seed))
    return grid


@dataclass
class Tuning:
    label: str
    lr: float
    table: pd.DataFrame  # one row per grid rate: lr, median final numbers, runs, diverged
    rule: str
    runs: pd.DataFrame = field(default_factory=pd.DataFrame)  # every tuning run: lr, seed, ...


def tuning_seeds(seed: int, n: int) -> list[int]:
    """The held-out seeds of a tuning: seed + 1000, seed + 1001, ..."""
    if n < 1:
        raise ValueError(f"tuning needs at least one held-out seed, got {n}")
    return [seed + TUNING_SEED_OFFSET + i for i in range(n)]


def tune_rate(
    label: str,
    run_at: Callable[[float, int], dict],
    grid: Sequence[float],
    seed: int,
    *,
    n_seeds: int = 3,
    choose: Callable[[pd.DataFrame], tuple[float, str]] = stats.choose_rate,
    progress: bool = False,
) -> Tuning:
    """``label``'s rate from ``grid``: ``run_at(lr, seed)`` runs once and returns its final
    numbers (with ``diverged_at`` set for a diverged run), on each of ``n_seeds``
    held-out seeds (``tuning_seeds``); per rate, the median of every number over the
    finished runs, ``runs`` and ``diverged`` (runs that diverged); ``choose`` picks the
    rate from that table (default ``stats.choose_rate`` on ROUGE_F, ROUGE_R: a rate with
    a diverged run is never chosen)."""
    rows = []
    jobs = [(lr, s) for lr in grid for s in tuning_seeds(seed, n_seeds)]
    for lr, held_out in tqdm(jobs, desc=f"tuning {label}", disable=not progress):
        final = run_at(lr, held_out)
        rows.append({**final, "lr": lr, "seed": held_out, "diverged_at": final.get("diverged_at")})
    runs = pd.DataFrame(rows)
    runs["diverged_at"] = runs["diverged_at"].astype(float)
    finished = runs[runs["diverged_at"].isna()].drop(columns=["seed", "diverged_at"])
    medians = finished.groupby("lr").median(numeric_only=True)
    counts = runs.groupby("lr").agg(runs=("seed", "size"), diverged=("diverged_at", "count"))
    table = counts.join(medians).reindex(list(dict.fromkeys(grid))).reset_index()
    lr, rule = choose(table)
    return Tuning(label, lr, table, f"{rule} (median over {n_seeds} held-out seeds)", runs)


def tune_lm(
    target, bench: Benchmark, method: str, protocol: Protocol, seed: int, progress: bool = False
) -> Tuning:
    """A method's rate over ``protocol.lr_grid`` (cached runs: a method tuned by another
    notebook under the same protocol costs nothing)."""
    return tune_rate(
        method,
        lambda lr, s: run_config(target, bench, Config(method, method, lr), protocol, s).final,
        protocol.lr_grid,
        seed,
        n_seeds=protocol.tuning_seeds,
        progress=progress,
    )


def tune_rates(target, bench, methods: list[str], protocol: Protocol, seed: int) -> pd.DataFrame:
    """``tune_lm`` for each method: one row per method with its ``lr``, the ``rule`` that
    picked it and the ROUGE_F / ROUGE_R of every grid rate (``grid``, text)."""
    rows = []
    for name in tqdm(methods, desc="tuning learning rates"):
        tuning = tune_lm(target, bench, name, protocol, seed)
        grid = ", ".join(
            f"{r.lr:g}: "
            + (f"{r.diverged}/{r.runs} diverged" if r.diverged else "")
            + (
                f" F {r.rouge_forget:.2f} R {r.rouge_retain:.2f}"
                if pd.notna(getattr(r, "rouge_forget", float("nan")))
                else ""
            )
            for r in tuning.table.itertuples()
        )
        rows.append({"method": name, "lr": tuning.lr, "rule": tuning.rule, "grid": grid})
    return pd.DataFrame(rows).set_index("method")


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
