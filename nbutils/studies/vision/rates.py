"""Each Table 4 method's rate per scenario (NGDiff Appendix D): tuning requests on the
image grid (``runs.PROTOCOL``), answered on held-out seeds by ``engine.tuning``."""

from __future__ import annotations

import functools
from dataclasses import asdict, replace

import numpy as np
import pandas as pd

from ... import stats
from ...core.digits import Digits, Split
from ...engine.executor import execute
from ...engine.loop import Run
from ...engine.runs import Config, Protocol
from ...engine.tuning import Request, tuning_seeds
from .runs import GAP_METRICS, image_job, retrain_job, row


def choose_lr(table: pd.DataFrame, scenario: str) -> tuple[float, str]:
    """The rate a tuning table picks (diverged rows are never chosen; ties go to the
    smaller rate). class: ``stats.choose_rate`` with FA for ROUGE_F and RA for ROUGE_R
    (the highest RA among rates that forget). random: the smallest Gap to RT
    (random-subset forgetting has no target FA: RT still classifies most of F
    correctly, so "forgetting" means resembling RT)."""
    if scenario != "random":
        return stats.choose_rate(table, "FA", "RA", ("FA", "RA"))
    ok = table[~stats.rates_that_diverged(table)]
    if ok.empty:
        raise ValueError(f"every rate of the grid diverged: {list(table.lr)}")
    best = ok.sort_values(["gap", "lr"]).iloc[0]
    return float(best.lr), "smallest Gap to RT"


def rank_rates(table: pd.DataFrame, scenario: str) -> list[float]:
    """``choose_lr``'s order of the rates, best first (successive halving keeps its
    head): class, ``stats.rank_rates`` on FA and RA; random, by Gap; diverged rates last."""
    if scenario != "random":
        return stats.rank_rates(table, "FA", "RA")
    diverged = stats.rates_that_diverged(table) | table["gap"].isna()
    order = [table[~diverged].sort_values(["gap", "lr"]), table[diverged].sort_values("lr")]
    return [float(lr) for part in order for lr in part["lr"]]


def _gap(numbers: dict, reference: dict) -> float:
    return float(np.mean([abs(numbers[m] - reference[m]) for m in GAP_METRICS]))


class _RetrainedAt:
    """RT's metrics at each held-out seed of a scenario, computed on first use (cached
    runs): the random scenario's tuning scores each run by its Gap to these."""

    def __init__(self, data: Digits, split: Split, epochs: int, seeds: list[int]):
        self.jobs = [retrain_job(data, split, epochs, s) for s in seeds]
        self.rows: dict[int, dict] | None = None

    def __call__(self, seed: int) -> dict:
        if self.rows is None:
            runs = execute(self.jobs, desc="RT at the held-out seeds")
            self.rows = {run.seed: row(run) for run in runs}
        return self.rows[seed]


def _score(run: Run, references: _RetrainedAt | None = None) -> dict:
    """A tuning run's numbers; with ``references``, its Gap to RT at its seed."""
    numbers = row(run)
    if references is not None and pd.isna(numbers["diverged_at"]):
        numbers["gap"] = _gap(numbers, references(run.seed))
    return numbers


def tuning_requests(
    original,
    data: Digits,
    splits: dict[str, Split],
    configs: list[Config],
    protocol: Protocol,
    draw: int,
    epochs: int,
) -> list[Request]:
    """One request per scenario and config without AutoLR: its rate from
    ``protocol.lr_grid`` by ``choose_lr`` on the median over ``protocol.tuning_seeds``
    held-out seeds (``engine.tuning``). The random scenario's Gap is to RT (trained for
    ``epochs``) at the same held-out seed."""
    seeds = tuning_seeds(draw, protocol.tuning_seeds)
    requests = []
    for scenario, split in splits.items():
        references = _RetrainedAt(data, split, epochs, seeds) if scenario == "random" else None
        setting = {
            "kind": "vision",
            "scenario": scenario,
            "forget_class": split.forget_class,
            "forget": len(split.forget),
            "pretrain_epochs": epochs,
            "protocol": asdict(protocol) | {"lr_grid": None, "tuning_seeds": None},
        }
        for config in (c for c in configs if c.autolr is None):

            def job(lr, seed, split=split, config=config):
                return image_job(original, data, split, replace(config, lr=lr), protocol, seed)

            requests.append(
                Request(
                    f"{config.label} ({scenario})",
                    {**setting, "method": config.method},
                    tuple(protocol.lr_grid),
                    job,
                    protocol.tuning_seeds,
                    draw,
                    functools.partial(rank_rates, scenario=scenario),
                    functools.partial(choose_lr, scenario=scenario),
                    functools.partial(_score, references=references),
                )
            )
    return requests


def tuned_configs(
    tunings: dict, splits: dict[str, Split], configs: list[Config]
) -> tuple[dict[str, list[Config]], pd.DataFrame]:
    """The configs with their tuned rates per scenario (a config with AutoLR starts from
    the rate of the same method without it) and a table of the choices (the median
    tuning metrics at the chosen rate)."""
    chosen, rows = {}, []
    for scenario in splits:
        chosen[scenario] = []
        for config in configs:
            base = next(c for c in configs if c.method == config.method and c.autolr is None)
            tuning = tunings[f"{base.label} ({scenario})"]
            chosen[scenario].append(replace(config, lr=tuning.lr))
            at = tuning.table[tuning.table.lr == tuning.lr].iloc[0]
            rule = tuning.rule if config.autolr is None else f"start at {base.label}'s rate"
            rows.append(
                {"scenario": scenario, "label": config.label, "lr": tuning.lr, "rule": rule}
                | {f"tuning {m}": at[m] for m in ("FA", "RA")}
            )
    return chosen, pd.DataFrame(rows)
