"""DualOptim's official language-model protocol (CityU-MLO/DualOptim, ``LLM/``).

Algorithm 1 as the official code runs it: T_f : T_r (1:5 or 1:1), epochs over F, a
linear schedule with a warm-up epoch, clipping, weight decay, per-task Adam states, the
retain rate fixed and each scheme's forget rate tuned (``Official``, ``official_job``,
the requests of ``official_requests``, ``run_official``). Recipe 1's SGD panel is
Alternate under the same protocol with SGD and one rate for both tasks
(``unified_rate_request``, ``unified_sgd_runs``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from ...core.targets import TargetRef, open_target
from ...engine import lm
from ...engine.alternator import official_steps, parse_schedule
from ...engine.executor import Job, cached_job, execute
from ...engine.loop import Run
from ...engine.optim import LABELS
from ...engine.runs import ENGINE_VERSION, target_spec
from ...engine.tuning import Request, Tuning
from .language_model import FINAL_METRICS

OFFICIAL_EPOCHS = 5  # LLM/scripts/tofu/dualoptim.sh: num_epochs=5
OFFICIAL_WEIGHT_DECAY = 0.01  # LLM/config/phi1-5_tofu.yaml: weight_decay
OFFICIAL_CLIP_NORM = 1.0  # Hugging Face TrainingArguments' max_grad_norm (not overridden)


@dataclass(frozen=True)
class Official:
    """DualOptim's official language-model protocol (CityU-MLO/DualOptim, ``LLM/``) at the
    tiny model's scale: T_f forget steps then T_r retain steps (``schedule``), a run of
    ``epochs`` epochs over F counted as the official code counts them
    (``alternator.official_steps``), a linear schedule warmed up over the first epoch,
    each gradient clipped to norm ``clip_norm``, decoupled weight decay, per-task Adam
    states with their own bias correction (``optim.make_states``), the retain rate
    fixed at ``retain_lr`` and the forget rate each scheme's own (tuned).
    ``optimizer``: the pretraining optimizer (retain steps; Alternate's only one)."""

    schedule: str = "1:5"
    retain_lr: float = 1e-3
    epochs: int = OFFICIAL_EPOCHS
    batch_size: int = 16
    weight_decay: float = OFFICIAL_WEIGHT_DECAY
    clip_norm: float = OFFICIAL_CLIP_NORM
    optimizer: str = "adam"
    eval_retain: int | None = 100
    max_new_tokens: int = 32

    def __post_init__(self):
        parse_schedule(self.schedule)
        if not self.retain_lr > 0:
            raise ValueError(f"retain_lr must be > 0, got {self.retain_lr!r}")

    @property
    def ratio(self) -> tuple[int, int]:
        return parse_schedule(self.schedule)

    def steps(self, bench) -> tuple[int, int]:
        """(updates, warm-up updates) of a run on ``bench``."""
        return official_steps(
            len(bench.forget), len(bench.retain), self.batch_size, *self.ratio, self.epochs
        )


def official_job(
    target,
    bench,
    scheme: str,
    forget_lr: float,
    protocol: Official,
    seed: int,
    *,
    evaluations: int | None = None,
    cache: bool = True,
) -> Job:
    """One run of Algorithm 1 under the official protocol (``engine.lm.alternate_lm``) as
    a cached job of the executor. ``evaluations``: about that many evaluations during the
    run (None: after the last update only). The run's ``config`` holds scheme, schedule
    and both rates."""
    steps, _ = protocol.steps(bench)
    eval_every = -(-steps // evaluations) if evaluations else None
    config = {
        "scheme": scheme,
        "schedule": protocol.schedule,
        "forget_lr": forget_lr,
        "retain_lr": protocol.retain_lr,
        "optimizer": protocol.optimizer,
    }
    spec = {
        **target_spec(target, bench),
        "official": asdict(protocol),
        **config,
        "seed": seed,
        "eval_every": eval_every,
        "engine": ENGINE_VERSION,
    }
    args = (target.ref, bench, scheme, forget_lr, protocol, seed, eval_every)
    label = LABELS.get(scheme, scheme)
    return cached_job(_official_run_on, args, spec, label, seed, config, cache)


def _official_run_on(
    target: TargetRef, bench, scheme, forget_lr, protocol: Official, seed, eval_every
) -> Run:
    opened = open_target(target)
    steps, warmup = protocol.steps(bench)
    forget_steps, retain_steps = protocol.ratio
    return lm.alternate_lm(
        opened.model,
        opened.tokenizer,
        bench,
        scheme,
        lr_forget=forget_lr,
        lr_retain=protocol.retain_lr,
        optimizer=protocol.optimizer,
        steps=steps,
        forget_steps=forget_steps,
        retain_steps=retain_steps,
        batch_size=protocol.batch_size,
        eval_every=eval_every,
        eval_retain=protocol.eval_retain,
        max_new_tokens=protocol.max_new_tokens,
        weight_decay=protocol.weight_decay,
        clip_norm=protocol.clip_norm,
        warmup_steps=warmup,
        seed=seed,
        label=LABELS.get(scheme, scheme),
    )


def official_run(target, bench, scheme, forget_lr, protocol: Official, seed, **options) -> Run:
    """One ``official_job`` computed (or read from the run cache)."""
    job = official_job(target, bench, scheme, forget_lr, protocol, seed, **options)
    return execute([job], progress=False)[0]


def forget_rate_request(
    target, bench, scheme: str, protocol: Official, forget_lrs, draw: int, n_seeds: int
) -> Request:
    """The request for ``scheme``'s forget rate from ``forget_lrs`` with the retain rate
    fixed: the project's rule (``stats.choose_rate``: the highest ROUGE_R among rates
    whose median ROUGE_F is below 0.1; a rate with a diverged run is never chosen) on
    ``n_seeds`` held-out seeds, each run evaluated after its last update only."""
    return Request(
        f"{LABELS.get(scheme, scheme)} {protocol.schedule}",
        {"kind": "official", "setting": target.setting, "scheme": scheme, **asdict(protocol)},
        tuple(forget_lrs),
        lambda lr, s: official_job(target, bench, scheme, lr, protocol, s),
        n_seeds,
        draw,
    )


def unified_rate_request(target, bench, protocol: Official, rates, draw: int, n_seeds: int):
    """The request for one rate for both tasks of Alternate (the unified rate of SGD that
    Recipe 1 argues against), tuned as ``forget_rate_request`` tunes a forget rate."""
    return Request(
        f"Alternate ({protocol.optimizer}, one rate) {protocol.schedule}",
        {"kind": "official_unified", "setting": target.setting, **asdict(protocol)},
        tuple(rates),
        lambda lr, s: official_job(
            target, bench, "alternate", lr, replace(protocol, retain_lr=lr), s
        ),
        n_seeds,
        draw,
    )


@dataclass
class OfficialResults:
    """The official comparison: per (scheme, schedule) its ``Tuning`` and its runs."""

    tunings: dict[tuple[str, str], Tuning]
    runs: list[Run]

    @property
    def finals(self) -> pd.DataFrame:
        """One row per run: ``scheme``, ``label``, ``schedule``, ``forget_lr``,
        ``retain_lr``, ``seed``, ``diverged_at`` and the final evaluation."""
        rows = [
            {
                **r.config,
                "label": r.label,
                "seed": r.seed,
                "diverged_at": r.diverged_at,
                **{k: v for k, v in r.final.items() if k != "step"},
            }
            for r in self.runs
        ]
        table = pd.DataFrame(rows)
        for column in ("diverged_at", *FINAL_METRICS):  # present even if every run diverged
            if column not in table:
                table[column] = np.nan
        return table

    def rates(self) -> pd.DataFrame:
        """The tuned forget rate of each scheme (rows) per schedule (columns)."""
        table = pd.DataFrame(
            [
                {"scheme": LABELS.get(k, k), "schedule": sched, "forget_lr": t.lr}
                for (k, sched), t in self.tunings.items()
            ]
        )
        return table.pivot(index="scheme", columns="schedule", values="forget_lr")


def official_requests(
    target, bench, schemes, schedules, *, retain_lr, forget_lrs, draw, n_seeds, **protocol
) -> list[Request]:
    """Every scheme's forget-rate request at every schedule (``forget_rate_request``)."""
    return [
        forget_rate_request(
            target,
            bench,
            scheme,
            Official(schedule=schedule, retain_lr=retain_lr, **protocol),
            forget_lrs,
            draw,
            n_seeds,
        )
        for schedule in schedules
        for scheme in schemes
    ]


def run_official(
    target,
    bench,
    schemes,
    schedules,
    tunings: dict,
    *,
    retain_lr: float,
    seeds,
    evaluations: int | None = None,
    **protocol,
) -> OfficialResults:
    """Every scheme at every schedule under the official protocol, at its tuned forget
    rate (``tunings``: request name -> ``engine.tuning.Tuning``, from
    ``official_requests``), one run per evaluation seed, in one batch of the executor
    (``evaluations`` during each run: see ``official_job``). ``protocol``: further
    ``Official`` fields."""
    chosen, jobs = {}, []
    for schedule in schedules:
        official = Official(schedule=schedule, retain_lr=retain_lr, **protocol)
        for scheme in schemes:
            tuning = tunings[f"{LABELS.get(scheme, scheme)} {schedule}"]
            chosen[scheme, schedule] = tuning
            jobs += [
                official_job(target, bench, scheme, tuning.lr, official, s, evaluations=evaluations)
                for s in seeds
            ]
    return OfficialResults(chosen, execute(jobs, desc="official runs"))


def official_settings(protocol, smoke: bool) -> dict:
    """``Official``'s fields that follow the session's protocol (batch, evaluation) and
    size (two epochs at smoke size)."""
    return dict(
        batch_size=protocol.batch_size,
        eval_retain=protocol.eval_retain,
        max_new_tokens=protocol.max_new_tokens,
        epochs=2 if smoke else OFFICIAL_EPOCHS,
    )


def smoke_rates(forget_lrs) -> tuple[float, ...]:
    """The forget rates tried at smoke size: one, the upper middle of the grid."""
    rates = sorted(forget_lrs)
    return (rates[len(rates) // 2],)


def sgd_protocol(protocol: Official) -> Official:
    """Recipe 1's SGD panel: Alternate with SGD under the official protocol."""
    return replace(protocol, optimizer="sgd")


def unified_sgd_runs(target, bench, protocol: Official, tuning, seeds) -> list[Run]:
    """Alternate with SGD and one rate for both tasks (Recipe 1's SGD panel) at
    ``tuning``'s rate (``unified_rate_request`` on ``sgd_protocol(protocol)``), one run
    per seed."""
    at = replace(sgd_protocol(protocol), retain_lr=tuning.lr)
    jobs = [official_job(target, bench, "alternate", tuning.lr, at, s) for s in seeds]
    return execute(jobs, desc="SGD runs")
