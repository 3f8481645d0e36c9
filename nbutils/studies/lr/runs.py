"""One optimizer's runs of notebook 04 (NGDiff Figs. 5 and 6) and their tables.

Every table function takes the long tables of ``engine.runs.Grid``: ``finals`` (one row
per run: ``lr``, ``seed``, ``diverged_at``, ``final_lr``, ``rouge_forget``,
``rouge_retain``, ...) and ``histories`` (one row per step and run, with ``label`` and
``seed``).

- ``lr_study``: per optimizer, NGDiff's rate tuned on held-out seeds (``engine.tuning``:
  the median rule over ``Protocol.tuning_seeds`` seeds draw + 1000, ...; never an
  evaluation seed), then GDiff-0.5 and NGDiff at every fixed rate and NGDiff + AutoLR
  started from the smallest rate, the middle of the grid, the tuned rate and the
  largest rate (``configs.sensitivity_configs``).
- The *best fixed rate* against which AutoLR is compared is that tuned rate: chosen
  without looking at the evaluation seeds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ... import stats
from ...engine.autolr import AutoLR
from ...engine.runs import Grid, Protocol, run_grid
from ...engine.tuning import Tuning
from ..style import Line, rate_colors
from .configs import (
    AUTOLR_RULE,
    AUTOLR_STARTS,
    METRICS,
    OPTIMIZER_NAMES,
    autolr_label,
    autolr_starts,
    fixed_label,
    retain_advantage,
    sensitivity_configs,
    start_roles,
)
from .verdicts import claim_measurements


@dataclass
class Study:
    """The runs of one optimizer in notebook 04: the tuning on held-out seeds and the
    grid on the evaluation seeds."""

    optimizer: str
    rates: tuple[float, ...]
    tuning: Tuning
    starts: dict[str, float]
    grid: Grid
    autolr: AutoLR

    @property
    def best_fixed(self) -> float:
        """NGDiff's best fixed rate: tuned on held-out seeds, never the evaluation seeds."""
        return self.tuning.lr

    @property
    def finals(self) -> pd.DataFrame:
        return with_rule(self.grid.finals)

    @property
    def table(self) -> pd.DataFrame:
        """``stats.group_stats`` by (rule, lr); an AutoLR row's lr is its starting rate."""
        return stats.group_stats(self.finals, ["rule", "lr"], [*METRICS, "final_lr"])

    def rule(self, rule: str) -> pd.DataFrame:
        table = self.table
        return table[table["rule"] == rule].reset_index(drop=True)

    def lines(self, rules: Sequence[str]) -> dict[str, Line]:
        """Line styles: one viridis colour per fixed rate (the best fixed rate thicker),
        AutoLR in oranges, one dash per start (solid: from the middle, the paper's)."""
        colors = rate_colors(self.rates)
        out = {}
        for rule in rules:
            if rule == AUTOLR_RULE:
                for lr, roles in start_roles(self.starts).items():
                    color, dash = AUTOLR_STARTS[roles[0]]
                    text = f"AutoLR from {lr:g} ({', '.join(roles)})"
                    out[autolr_label(lr)] = Line(color, text, dash, 2.4)
                continue
            for lr in self.rates:
                best = rule == "NGDiff" and math.isclose(lr, self.best_fixed)
                text = f"{rule}, lr = {lr:g}" + (" (best fixed, held-out)" if best else "")
                out[fixed_label(rule, lr)] = Line(colors[lr], text, "-", 2.4 if best else 1.6)
        return out

    def setting(self) -> str:
        """The study's rates in words, for verdicts."""
        grid = ", ".join(f"{lr:g}" for lr in self.rates)
        return (
            f"{OPTIMIZER_NAMES[self.optimizer]}: fixed rates {grid}; AutoLR (plain rule, "
            f"k = {self.autolr.period}) from the middle {self.starts['middle']:g}; best "
            f"fixed NGDiff rate {self.best_fixed:g}, tuned: {self.tuning.rule}"
        )

    def measurements(self, draw: int) -> pd.DataFrame:
        return claim_measurements(
            self.finals, self.optimizer, draw, self.starts["middle"], self.best_fixed
        )

    def summary(self) -> dict:
        """Numbers for the summary sidecar's ``data``: the grid, the starts, the tuning
        (medians on held-out seeds) and the paper's arithmetic for AutoLR from the middle
        against the best fixed rate on the evaluation seeds (means over seeds)."""
        table = self.table.set_index(["rule", "lr"])
        auto = table.loc[(AUTOLR_RULE, self.starts["middle"]), "rouge_retain_mean"]
        best = table.loc[("NGDiff", self.best_fixed), "rouge_retain_mean"]
        advantage = retain_advantage(auto, best) if np.isfinite([auto, best]).all() else {}
        return {
            "rates": list(self.rates),
            "starts": self.starts,
            "best_fixed_lr": self.best_fixed,
            "best_fixed_rule": self.tuning.rule,
            "tuning_table": self.tuning.table,
            "autolr_middle_vs_best_fixed_rouge_retain": advantage,
        }


def with_rule(finals: pd.DataFrame) -> pd.DataFrame:
    """``finals`` with ``rule``: the method, or ``AUTOLR_RULE`` for an AutoLR run."""
    return finals.assign(rule=np.where(finals["autolr"], AUTOLR_RULE, finals["method"]))


def lr_study(
    target,
    bench,
    protocol: Protocol,
    seeds: Sequence[int],
    rates: Sequence[float],
    autolr: AutoLR,
    tuning: Tuning,
    verdicts_only: bool = False,
    roles: Sequence[str] = tuple(AUTOLR_STARTS),
    progress: bool = True,
) -> Study:
    """``sensitivity_configs`` under ``protocol`` on the evaluation ``seeds`` (one batch
    of the executor; runs from the run cache when done before), NGDiff's best fixed rate
    being ``tuning``'s (tuned over ``rates`` on held-out seeds, ``engine.tuning``), AutoLR
    from the starts of ``roles`` (``autolr_roles``)."""
    rates = tuple(sorted(rates))
    every = autolr_starts(rates, tuning.lr)
    starts = {role: lr for role, lr in every.items() if role in {*roles, "middle", "tuned"}}
    configs = sensitivity_configs(rates, autolr, starts, verdicts_only)
    grid = run_grid(
        target,
        bench,
        configs,
        list(seeds),
        protocol,
        desc=f"{protocol.optimizer}: {len(configs)} configs x {len(seeds)} seeds",
        progress=progress,
    )
    return Study(protocol.optimizer, rates, tuning, starts, grid, autolr)


def display_table(studies: dict[str, Study]) -> pd.DataFrame:
    """The per-(rule, rate) tables of all optimizers, rates written out (``:g``)."""
    table = pd.concat({OPTIMIZER_NAMES[o]: s.table for o, s in studies.items()})
    return table.assign(lr=table["lr"].map("{:g}".format))
