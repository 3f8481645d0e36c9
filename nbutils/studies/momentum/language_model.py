"""Algorithm 1 of the slides on the language model, and NGDiff + DualOptim (ours).

``lm_run``: Alternate, DualOptim or DualOptim+ (``engine.optim.make_states``) on a copy of
the target, alternating T_f forget and T_r retain steps (``engine.lm.alternate_lm``), or
jointly (``joint=True``, beyond both sources): NGDiff's steps whose normalized task
gradients feed the scheme's states (``engine.lm.unlearn_lm``). ``lm_job``, ``run_all``
and ``joint_request`` run them through the executor and the tuning; ``steps_table``
(Recipe 1's gradient norms), ``evaluations`` and ``summary`` read the runs.
"""

from __future__ import annotations

import pandas as pd

from ... import stats
from ...core.targets import TargetRef, open_target
from ...engine import lm
from ...engine.executor import Job, cached_job, execute
from ...engine.loop import Run
from ...engine.optim import LABELS, make_states
from ...engine.runs import ENGINE_VERSION, finals_table, target_spec
from ...engine.tuning import Request


def lm_run(
    target,
    bench,
    scheme: str,
    *,
    lr: float,
    optimizer: str = "adam",
    joint: bool = False,
    budget: int = 80,
    forget_steps: int = 1,
    retain_steps: int = 1,
    eval_every: int | None = 20,
    seed: int = 0,
    label: str | None = None,
    **settings,
) -> Run:
    """One run of ``budget`` gradient evaluations on a copy of ``target`` (a
    ``core.targets.Target``), evaluated every ``eval_every`` of them (``None``: after the
    last only). Alternating (``engine.lm.alternate_lm``): T_f forget steps then T_r
    retain steps, one gradient each, eta_f = eta_r = ``lr``, the scheme's optimizer
    states. Joint (``joint=True``, ours, beyond both sources): NGDiff steps of two
    gradients each (``engine.lm.unlearn_lm``) whose normalized task gradients feed the
    scheme's states: with shared states this is the engine's NGDiff, with decoupled
    states each normalized gradient has its own optimizer state. ``settings``: the
    engine run's ``batch_size``, ``eval_retain`` and ``max_new_tokens`` (its defaults
    otherwise, the same in both runs)."""
    per_update = 2 if joint else forget_steps + retain_steps
    if budget < per_update or lr <= 0:
        raise ValueError(f"need budget >= {per_update} and lr > 0, got {budget}, {lr}")
    budget -= budget % per_update
    common = dict(seed=seed, label=label or scheme, **settings)
    if joint:
        return lm.unlearn_lm(
            target.model,
            target.tokenizer,
            bench,
            "NGDiff",
            steps=budget // 2,
            lr=lr,
            optimizer=lambda params: make_states(scheme, params, optimizer),
            eval_every=eval_every // 2 if eval_every else None,
            progress=False,
            **common,
        )
    return lm.alternate_lm(
        target.model,
        target.tokenizer,
        bench,
        scheme,
        lr_forget=lr,
        lr_retain=lr,
        optimizer=optimizer,
        steps=budget,
        forget_steps=forget_steps,
        retain_steps=retain_steps,
        eval_every=eval_every,
        **common,
    )


def lm_job(target, bench, scheme: str, *, seed: int, label: str | None = None, **options) -> Job:
    """``lm_run`` as a cached job of the executor (``options``: its keyword arguments)."""
    spec = {
        **target_spec(target, bench),
        "scheme": scheme,
        "options": options,
        "seed": seed,
        "engine": ENGINE_VERSION,
    }
    label = label or scheme
    args = (target.ref, bench, scheme, seed, label, options)
    return cached_job(_lm_run_on, args, spec, label, seed)


def _lm_run_on(target: TargetRef, bench, scheme: str, seed: int, label: str, options: dict) -> Run:
    return lm_run(open_target(target), bench, scheme, seed=seed, label=label, **options)


def joint_request(target, bench, scheme: str, grid, draw: int, n_seeds: int, **options) -> Request:
    """The request for a joint scheme's rate (NGDiff + DualOptim) over ``grid``, each
    run evaluated after its last update only (``engine.tuning``)."""
    options = {**options, "joint": True, "eval_every": None}
    return Request(
        f"NGDiff + {LABELS.get(scheme, scheme)} (joint)",
        {"kind": "momentum_lm", "setting": target.setting, "scheme": scheme, "options": options},
        tuple(grid),
        lambda lr, s: lm_job(target, bench, scheme, lr=lr, seed=s, **options),
        n_seeds,
        draw,
    )


def run_all(target, bench, configs: dict[str, dict], seeds, **options) -> list[Run]:
    """Every labelled config (``lm_run``'s keyword arguments: scheme, lr, ...) with every
    seed, in one batch of the executor."""
    jobs = [
        lm_job(target, bench, label=label, seed=seed, **{**options, **config})
        for label, config in configs.items()
        for seed in seeds
    ]
    return execute(jobs, desc="alternating runs")


def joint_settings(protocol) -> dict:
    """NGDiff's runs of Part 3 at the project's budget: ``protocol.steps`` steps of two
    gradients each (``lm_run``'s options)."""
    return dict(
        budget=2 * protocol.steps,
        batch_size=protocol.batch_size,
        eval_retain=protocol.eval_retain,
        max_new_tokens=protocol.max_new_tokens,
    )


def _alternating(run: Run) -> bool:
    """One gradient per step (Algorithm 1 of the slides), not two (joint)."""
    return "task" in run.history


def steps_table(runs, **columns) -> pd.DataFrame:
    """The per-update rows of alternating ``runs`` (``task``, ``loss``, ``grad_norm``) in
    one long table, with ``budget`` (gradient evaluations so far), ``label``, ``seed`` and
    the given constant ``columns``."""
    parts = []
    for r in runs:
        steps = r.history[r.history["task"].notna()]
        parts.append(
            steps[["task", "loss", "grad_norm"]].assign(
                budget=steps["step"].astype(int) + 1, label=r.label, seed=r.seed, **columns
            )
        )
    return pd.concat(parts, ignore_index=True)


def evaluations(runs, start: dict | None = None) -> pd.DataFrame:
    """One long table (label, seed, budget, metrics...) of the evaluations of ``runs``:
    an alternating run's evaluation at step s is at budget s (one gradient per step), a
    joint run's at 2 s (two). ``start``: the target's evaluation, put at budget 0 of every
    run in place of the run's own evaluation there."""
    parts = []
    for r in runs:
        h = r.history.dropna(subset=["rouge_forget"])
        table = h.drop(columns="step").assign(budget=h.step * (1 if _alternating(r) else 2))
        if start is not None:
            table = pd.concat([pd.DataFrame([{"budget": 0, **start}]), table[table.budget > 0]])
        config = r.config if isinstance(r.config, dict) else {}
        parts.append(table.assign(label=r.label, seed=r.seed, schedule=config.get("schedule")))
    columns = [
        "label",
        "schedule",
        "seed",
        "budget",
        "rouge_forget",
        "rouge_retain",
        "split_loss_forget",
        "split_loss_retain",
    ]
    return pd.concat(parts, ignore_index=True).reindex(columns=columns)


FINAL_METRICS = ("rouge_forget", "rouge_retain")


def summary(runs) -> pd.DataFrame:
    """Per label (index): mean and std over seeds of the final ROUGE_F and ROUGE_R
    (``stats.group_stats``), runs and diverged runs."""
    return stats.group_stats(finals_table(runs), "label", FINAL_METRICS).set_index("label")
