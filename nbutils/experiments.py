"""Many unlearning runs: one protocol, cached runs, grids of methods x seeds, tuned rates.

A *protocol* fixes everything but the method, its learning rate and the seed: SGD as in
Algorithm 1, 40 steps of batch 16 (about 15 epochs over F, the paper's Appendix F.3),
evaluation after the last step. Under SGD each rule's direction has its own natural
size (LossNorm's is 1/L times the gradient, NGDiff's has norm at most 2), so one rate
for all would be unfair to some: ``tune_lr`` gives each method its rate, chosen on a
held-out seed from a fixed grid by a fixed rule (the paper's "manually tuned" rates,
made reproducible).

Runs are cached on disk like targets, keyed by everything that determines them,
including a hash of the engine's source, so notebooks share identical runs and a
changed engine never reuses a stale result.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from . import autolr as autolr_module
from . import batches, directions, metrics, npo, optim, paths, unlearn
from .autolr import AutoLR
from .data import Benchmark
from .figures import to_jsonable

FORGETS = 0.1  # ROUGE_F at or below which a run counts as forgetting (Table 1: Verbmem < 0.1)
TUNING_SEED_OFFSET = 1000  # tuning runs use seed + 1000: never one of the evaluation seeds

ENGINE_VERSION = hashlib.sha256(
    "".join(
        inspect.getsource(m)
        for m in (unlearn, directions, autolr_module, optim, npo, batches, metrics)
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
    truth_ratio: bool = False
    max_new_tokens: int = 32
    lr_grid: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0)


@dataclass(frozen=True)
class Config:
    """One line of a comparison: a label, a method (``unlearn.METHODS`` name), its rate."""

    label: str
    method: str
    lr: float
    autolr: AutoLR | None = None


@dataclass
class RunRecord:
    config: Config
    seed: int
    history: pd.DataFrame
    seconds: float
    diverged_at: int | None = None
    from_cache: bool = False

    @property
    def final(self) -> dict:
        """Final evaluation; a diverged run reports NaN metrics and its step."""
        if self.diverged_at is not None:
            return {"diverged_at": self.diverged_at}
        return self.history.iloc[-1].dropna().to_dict()

    @property
    def final_lr(self) -> float:
        lrs = self.history["lr"].dropna() if "lr" in self.history else []
        return float(lrs.iloc[-1]) if len(lrs) else math.nan


def _key(target, bench: Benchmark, config: Config, protocol: Protocol, seed: int) -> str:
    spec = {
        "target": target.key,
        "benchmark": bench.fingerprint(),
        "method": config.method,
        "lr": config.lr,
        "autolr": asdict(config.autolr) if config.autolr else None,
        "protocol": asdict(protocol) | {"lr_grid": None},
        "seed": seed,
        "engine": ENGINE_VERSION,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:24]


def run(
    target, bench: Benchmark, config: Config, protocol: Protocol, seed: int, cache: bool = True
) -> RunRecord:
    """One unlearning run under ``protocol``, from the disk cache when it was done before."""
    path = paths.cache_dir() / "runs" / f"{_key(target, bench, config, protocol, seed)}.json"
    if cache and path.exists():
        try:
            stored = json.loads(path.read_text())
            return RunRecord(
                config,
                seed,
                pd.DataFrame(stored["history"]),
                stored["seconds"],
                stored["diverged_at"],
                from_cache=True,
            )
        except (ValueError, KeyError):
            pass  # unreadable: run again
    start = time.perf_counter()
    try:
        result = unlearn.run(
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
            progress=False,
        )
        history, diverged_at = result.history, None
    except unlearn.UnlearningDiverged as err:
        history, diverged_at = err.history, err.step
    record = RunRecord(config, seed, history, time.perf_counter() - start, diverged_at)
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(
            json.dumps(
                {
                    "history": to_jsonable(history),
                    "seconds": record.seconds,
                    "diverged_at": diverged_at,
                }
            )
        )
        tmp.replace(path)
    return record


@dataclass
class Grid:
    """The runs of a comparison: ``finals`` (one row per run) and ``histories`` (long)."""

    records: list[RunRecord] = field(default_factory=list)

    @property
    def finals(self) -> pd.DataFrame:
        rows = []
        for r in self.records:
            rows.append(
                {
                    "label": r.config.label,
                    "method": r.config.method,
                    "lr": r.config.lr,
                    "autolr": r.config.autolr is not None,
                    "seed": r.seed,
                    "diverged_at": r.diverged_at,
                    "final_lr": r.final_lr,
                    "seconds": r.seconds,
                    "from_cache": r.from_cache,
                    **r.final,
                }
            )
        return pd.DataFrame(rows)

    @property
    def histories(self) -> pd.DataFrame:
        return pd.concat(
            [r.history.assign(label=r.config.label, seed=r.seed) for r in self.records],
            ignore_index=True,
        )


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
        grid.records.append(run(target, bench, config, protocol, seed))
    return grid


@dataclass
class Tuning:
    method: str
    lr: float
    table: pd.DataFrame  # one row per grid rate: lr, rouge_forget, rouge_retain, diverged_at
    rule: str


def tune_lr(
    target, bench: Benchmark, method: str, protocol: Protocol, seed: int, progress: bool = False
) -> Tuning:
    """A method's learning rate, chosen on the held-out seed ``seed + 1000``.

    Over ``protocol.lr_grid``: the rate with the highest ROUGE_R among those whose run
    forgets (ROUGE_F <= 0.1); if none forgets, the rate with the lowest ROUGE_F. Runs
    that diverge are never chosen. Ties go to the smaller rate.
    """
    configs = [Config(method, method, lr) for lr in protocol.lr_grid]
    grid = run_grid(
        target,
        bench,
        configs,
        [seed + TUNING_SEED_OFFSET],
        protocol,
        desc=f"tuning {method}",
        progress=progress,
    )
    table = grid.finals.reindex(columns=["lr", "rouge_forget", "rouge_retain", "diverged_at"])
    lr, rule = choose_rate(table)
    return Tuning(method, lr, table, rule)


def choose_rate(
    table: pd.DataFrame,
    forget: str = "rouge_forget",
    keep: str = "rouge_retain",
    threshold: float = FORGETS,
    names: tuple[str, str] = ("ROUGE_F", "ROUGE_R"),
) -> tuple[float, str]:
    """The tuning rule on a table of ``lr``, ``diverged_at`` and two metrics: the highest
    ``keep`` among rates whose ``forget`` is at most ``threshold``; if none forgets, the
    lowest ``forget``. Diverged rows are never chosen; ties go to the smaller rate.
    Returns the rate and the rule that picked it, in words (``names`` of the metrics)."""
    ok = table[table.diverged_at.isna()]
    if ok.empty:
        raise RuntimeError(f"every rate of the grid diverged: {list(table.lr)}")
    forgetting = ok[ok[forget] <= threshold]
    if not forgetting.empty:
        best = forgetting.sort_values([keep, "lr"], ascending=[False, True]).iloc[0]
        return float(best.lr), f"highest {names[1]} among rates with {names[0]} <= {threshold}"
    best = ok.sort_values([forget, "lr"]).iloc[0]
    return float(best.lr), f"no rate reached {names[0]} <= {threshold}: lowest {names[0]}"


def summarize(finals: pd.DataFrame, columns: list[str], by: str = "label") -> pd.DataFrame:
    """Mean, standard deviation (ddof=1) and number of finished runs per group, in the
    order the groups first appear; diverged runs are counted separately."""
    order = list(dict.fromkeys(finals[by]))
    done = finals[finals.diverged_at.isna()]
    stats = done.groupby(by)[columns].agg(["mean", "std", "count"]).reindex(order)
    stats[("runs", "diverged")] = finals.groupby(by).diverged_at.count().reindex(order)
    return stats


def t_interval(values, confidence: float = 0.95) -> tuple[float, float]:
    """Student-t confidence interval of the mean (NaN with fewer than two values)."""
    from scipy import stats

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size < 2:
        return math.nan, math.nan
    half = (
        stats.t.ppf((1 + confidence) / 2, values.size - 1)
        * values.std(ddof=1)
        / math.sqrt(values.size)
    )
    return float(values.mean() - half), float(values.mean() + half)


__all__ = [
    "Protocol",
    "Config",
    "RunRecord",
    "Grid",
    "Tuning",
    "run",
    "run_grid",
    "tune_lr",
    "choose_rate",
    "summarize",
    "t_interval",
    "FORGETS",
    "ENGINE_VERSION",
]
