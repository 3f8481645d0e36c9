"""Which tuned rates each notebook needs: one plan per notebook, read by the notebook and
by the tuning job alike.

A plan turns a notebook's session (its parameters) and objects (benchmark and target,
or the digits of notebook 08) into ``engine.tuning.Request``s. In a notebook,
``tuned_rates`` answers them from the committed table of tuned rates
(``figures/tuned_rates.json``) and tunes here, saying why, any that the table lacks or
that was tuned under another setting (``retune=True``: all of them). ``python -m nbutils
tune`` runs every notebook's plan at its default parameters on draw 0 and writes that
table; every draw then reads draw 0's rates.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from ..core import digits
from ..engine import tuning
from ..engine.tuning import Request, lm_request
from ..studies import geometry, landscape
from ..studies.comparison import configs as cmp
from ..studies.momentum import language_model, official_protocol
from ..studies.pareto import sweep as pareto_sweep
from ..studies.vision import rates as vision_rates
from ..studies.vision import runs as vision_runs
from . import presets


def _lm(session, bench, target, methods: list[str], optimizer: str) -> list[Request]:
    protocol = presets.optimizer_protocol(session, optimizer)
    return [lm_request(target, bench, m, protocol, session.seed) for m in methods]


def plan_01(session, bench, target) -> list[Request]:
    """The real steps' rules, each at its rate under SGD (Algorithm 1 as written)."""
    p = session.params
    methods = geometry.real_checks.real_methods(p["verdicts_only"], p["smoke"])
    return _lm(session, bench, target, methods, "sgd")


def plan_02(session, bench, target) -> list[Request]:
    """Fig. 1's tuned methods (the per-c sweep, NGDiff, the markers) per optimizer."""
    p = session.params
    methods = pareto_sweep.tuned_methods(p["verdicts_only"], p["smoke"])
    optimizers = cmp.optimizers_to_run(p["optimizers"])
    return [r for opt in optimizers for r in _lm(session, bench, target, methods, opt)]


def plan_03(session, bench, target) -> list[Request]:
    """The rules whose landscapes are fitted, under SGD."""
    p = session.params
    rules = landscape.visits.rules(p["verdicts_only"], p["smoke"])
    return _lm(session, bench, target, rules, "sgd")


def plan_04(session, bench, target) -> list[Request]:
    """NGDiff's best fixed rate per optimizer (on the fixed-rate grid)."""
    return [r for opt in ("adam", "sgd") for r in _lm(session, bench, target, ["NGDiff"], opt)]


def plan_05(session, bench, target) -> list[Request]:
    """NGDiff's rate under Adam (the AutoLR settings' reference)."""
    return _lm(session, bench, target, ["NGDiff"], "adam")


def plan_06(session, bench, target) -> list[Request]:
    """Every method of Table 1, 3 and Fig. 4 per optimizer."""
    methods = cmp.TUNED_METHODS
    optimizers = cmp.optimizers_to_run(session.params["optimizers"])
    return [r for opt in optimizers for r in _lm(session, bench, target, methods, opt)]


def plan_07(session, bench, target) -> list[Request]:
    """Each scheme's forget rate per schedule (the official protocol); beyond the
    verdicts, the unified SGD rate of Recipe 1's panel, NGDiff's rates under SGD and
    Adam, and NGDiff + DualOptim's."""
    p, protocol = session.params, presets.protocol(session)
    official = official_protocol.official_settings(protocol, p["smoke"])
    forget_lrs = official_protocol.smoke_rates(p["forget_lrs"]) if p["smoke"] else p["forget_lrs"]
    requests = official_protocol.official_requests(
        target,
        bench,
        p["schemes"],
        p["schedules"],
        retain_lr=p["retain_lr"],
        forget_lrs=forget_lrs,
        draw=session.seed,
        n_seeds=protocol.tuning_seeds,
        **official,
    )
    if p["verdicts_only"]:
        return requests
    first = official_protocol.Official(p["schedules"][0], p["retain_lr"], **official)
    sgd = official_protocol.sgd_protocol(first)
    adam = presets.optimizer_protocol(session, "adam")
    return [
        *requests,
        official_protocol.unified_rate_request(
            target, bench, sgd, protocol.lr_grid, session.seed, protocol.tuning_seeds
        ),
        *_lm(session, bench, target, ["NGDiff"], "sgd"),
        *_lm(session, bench, target, ["NGDiff"], "adam"),
        language_model.joint_request(
            target,
            bench,
            "dualoptim",
            adam.lr_grid,
            session.seed,
            adam.tuning_seeds,
            **language_model.joint_settings(protocol),
        ),
    ]


def plan_08(session, data, splits, original) -> list[Request]:
    """Each Table 4 method's rate per scenario (image runs under SGD)."""
    p = session.params
    protocol = vision_runs.protocol(p["smoke"], p["steps"])
    epochs = vision_runs.pretrain_epochs(p["smoke"])
    return vision_rates.tuning_requests(
        original, data, splits, vision_runs.TABLE4, protocol, session.seed, epochs
    )


PLANS: dict[str, Callable[..., list[Request]]] = {
    "01_gradient_geometry": plan_01,
    "02_pareto_sweep": plan_02,
    "03_loss_landscape": plan_03,
    "04_lr_sensitivity": plan_04,
    "05_autolr_trace": plan_05,
    "06_method_comparison": plan_06,
    "07_momentum_variance": plan_07,
    "08_vision_unlearning": plan_08,
}


class TunedRates(dict):
    """A notebook's tunings by request name (``"NGDiff (adam)"``), with the views the
    notebooks print and save."""

    def lr(self, name: str) -> float:
        return self[name].lr

    def by_optimizer(self, optimizers) -> dict[str, pd.Series]:
        """Per optimizer, each method's rate (from ``"<method> (<optimizer>)"`` names)."""
        out = {}
        for opt in optimizers:
            suffix = f" ({opt})"
            rates = {n.removesuffix(suffix): t.lr for n, t in self.items() if n.endswith(suffix)}
            out[opt] = pd.Series(rates, name="lr", dtype=float)
        return out

    def table(self) -> pd.DataFrame:
        """One row per rate: the rate, its rule, where it came from and the grid's scores."""
        return tuning.summary(self)


def objects(session) -> tuple:
    """What a notebook's plan needs beyond its session, built as the notebook builds it:
    the benchmark and target, or for 08 the digits, the scenarios and the original model."""
    if session.notebook == "08_vision_unlearning":
        p = session.params
        data = digits.load_digits(session.seed).to(session.device)
        splits = vision_runs.scenario_splits(
            data, p["forget_class"], p["n_forget"], session.seed, p["verdicts_only"]
        )
        return data, splits, vision_runs.train_original(data, p["smoke"], session.seed)
    bench = presets.benchmark(session)
    return bench, presets.target(session, bench)


def tuned_rates(session, *objects) -> TunedRates:
    """The rates the session's notebook needs: from the table of tuned rates, else tuned
    here after saying why (``engine.tuning.resolve``; ``retune=True``: all here)."""
    requests = PLANS[session.notebook](session, *objects)
    return TunedRates(tuning.resolve(requests, retune=session.params.get("retune", False)))
