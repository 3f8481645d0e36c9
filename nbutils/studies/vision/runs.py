"""The image runs of NGDiff Appendix D (Table 4) and the DualOptim slides, as jobs of the
executor, and the table of every run.

A small CNN trained on every training image (the *original*, "No-unlearn" model) is
unlearned with the engine's direction rules (``engine.unlearner.unlearn``, the same run
loop as the language model, with the batch cross-entropy of images as the task loss) in
two scenarios: *class* (a sample of one class's training images, as in Appendix D) and
*random* (a random 10% of the training images, as in the slides). RT, the model
retrained from scratch on R alone, is the gold reference.

Metrics (slides): forget accuracy FA, retain accuracy RA, test accuracy TA (with its
share on the forgotten class and on the other classes), and two membership-inference
attacks, each the share of F it calls members (``core.mia``): ``MIA_entropy``, the
official attack of the DualOptim code (softmax entropy, balanced logistic regression on
the full retain vs test sets), and ``MIA``, ours (log-loss and confidence, balanced by
subsampling). Everything is a fraction in [0, 1] (their tables: x 100).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import replace

import pandas as pd

from ...core.digits import (
    Digits,
    Split,
    batch_stream,
    class_split,
    cpu_threads,
    cross_entropy,
    evaluate,
    random_split,
    train_classifier,
)
from ...engine.autolr import AutoLR
from ...engine.executor import Job, cached_job, execute
from ...engine.loop import Run, stream_seeds
from ...engine.runs import ENGINE_VERSION, Config, Protocol, run_spec
from ...engine.unlearner import unlearn

GAP_METRICS = ("FA", "RA", "TA", "MIA_entropy")  # the official four: Gap and Std
METRICS = (*GAP_METRICS, "MIA")  # every metric of a run; MIA is our attack
CLASS_METRICS = ("TA_forgotten", "TA_rest")  # TA split by the forgotten class
PRETRAIN_EPOCHS = 30  # the original model's and RT's training (Adam)
SMOKE_PRETRAIN_EPOCHS = 5
PROTOCOL = Protocol(
    optimizer="sgd",
    steps=50,
    batch_size=32,
    lr_grid=(1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0),
)
SMOKE_PROTOCOL = replace(PROTOCOL, steps=10, lr_grid=(0.01, 0.3), tuning_seeds=1)


def protocol(smoke: bool, steps: int | None = None) -> Protocol:
    """The unlearning protocol (SGD, as in Algorithm 1), or the smoke one; ``steps``
    overrides the unlearning steps."""
    base = SMOKE_PROTOCOL if smoke else PROTOCOL
    return base if steps is None or smoke else replace(base, steps=steps)


def pretrain_epochs(smoke: bool) -> int:
    return SMOKE_PRETRAIN_EPOCHS if smoke else PRETRAIN_EPOCHS


def scenario_splits(
    data: Digits, forget_class: int, n_forget: int, seed: int, verdicts_only: bool = False
) -> dict[str, Split]:
    """The class task (``n_forget`` images of ``forget_class``) and, unless
    ``verdicts_only`` (no claim needs it), the random task (10% of the training images)."""
    splits = {"class": class_split(data, forget_class, n_forget, seed)}
    if not verdicts_only:
        splits["random"] = random_split(data, 0.1, seed)
    return splits


def train_original(data: Digits, smoke: bool, seed: int):
    """The original ("No-unlearn") model: the small CNN trained on every training image."""
    return train_classifier(
        data.train_images, data.train_labels, epochs=pretrain_epochs(smoke), seed=seed
    )


TABLE4 = [
    Config("GDiff-0.9", "GDiff-0.9", math.nan),
    Config("GDiff-0.5", "GDiff-0.5", math.nan),
    Config("GDiff-0.1", "GDiff-0.1", math.nan),
    Config("LossNorm", "LossNorm", math.nan),
    Config("NGDiff", "NGDiff", math.nan),
    Config("NGDiff+AutoLR", "NGDiff", math.nan, AutoLR.plain()),
]


def image_streams(split: Split, data: Digits, batch_size: int, seed: int) -> dict:
    """The run's ``retain``, ``forget`` and ``probe`` (retain) batch streams of images."""
    sets, seeds = split.sets(data), stream_seeds(seed)
    return {
        "retain": batch_stream(*sets["retain"], batch_size, seeds.retain),
        "forget": batch_stream(*sets["forget"], batch_size, seeds.forget),
        "probe": batch_stream(*sets["retain"], batch_size, seeds.probe),
    }


def image_run(
    original, data: Digits, split: Split, config: Config, protocol: Protocol, seed: int
) -> dict:
    """Algorithm 1 on a copy of ``original`` (``engine.unlearner.unlearn``, single CPU
    thread): ``protocol.steps`` steps, each on a fresh retain batch and a fresh forget
    batch, then ``evaluate``. One row: ``lr``, ``final_lr``, ``seconds``, ``diverged_at``
    and the metrics (``METRICS``, with TA_forgotten / TA_rest in the class task; NaN for
    a run whose loss, gradient or parameters became non-finite)."""
    start = time.perf_counter()
    with cpu_threads(1):
        run = unlearn(
            original,
            config.method,
            image_streams(split, data, protocol.batch_size, seed),
            steps=protocol.steps,
            lr=config.lr,
            seed=seed,
            optimizer=protocol.optimizer,
            autolr=config.autolr,
            loss=cross_entropy,
            evaluate=lambda model, final: evaluate(model, data, split, seed),
            label=config.label,
        )
    final = {k: v for k, v in run.final.items() if k in (*METRICS, *CLASS_METRICS)}
    return {
        "lr": config.lr,
        "final_lr": run.final_lr,
        "seconds": time.perf_counter() - start,
        "diverged_at": run.diverged_at,
        **(final if run.diverged_at is None else {m: math.nan for m in METRICS}),
    }


def retrain_run(data: Digits, split: Split, epochs: int, seed: int) -> dict:
    """RT: a fresh model trained on R alone with the original's recipe (``epochs``),
    evaluated."""
    start = time.perf_counter()
    model = train_classifier(*split.sets(data)["retain"], epochs=epochs, seed=seed)
    metrics = evaluate(model, data, split, seed)
    return {"seconds": time.perf_counter() - start, "diverged_at": None, **metrics}


def _digest(*tensors) -> str:
    """SHA-256 of tensors' values (a model's weights, a data set): their identity in a
    run-cache key."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


def _identity(data: Digits, split: Split) -> dict:
    return {
        "data": _digest(data.train_images, data.train_labels, data.test_images, data.test_labels),
        "scenario": split.scenario,
        "split": _digest(split.forget, split.retain),
    }


def _row_run(label: str, seed: int, row: dict) -> Run:
    """A run record holding one table row (its history's only row)."""
    return Run(label, seed, pd.DataFrame([row]), row["seconds"], None)


def _image_run_on(original, data, split, config, protocol, seed) -> Run:
    return _row_run(config.label, seed, image_run(original, data, split, config, protocol, seed))


def image_job(original, data: Digits, split: Split, config: Config, protocol, seed: int) -> Job:
    """``image_run`` as a cached job of the executor (its row: the run's ``final``)."""
    spec = {
        "original": _digest(*original.state_dict().values()),
        **_identity(data, split),
        **run_spec(config, protocol, seed),
    }
    args = (original, data, split, config, protocol, seed)
    return cached_job(_image_run_on, args, spec, config.label, seed, config)


def _retrain_on(data, split, epochs, seed) -> Run:
    return _row_run("RT", seed, retrain_run(data, split, epochs, seed))


def retrain_job(data: Digits, split: Split, epochs: int, seed: int) -> Job:
    """``retrain_run`` as a cached job of the executor."""
    spec = {**_identity(data, split), "epochs": epochs, "seed": seed, "engine": ENGINE_VERSION}
    return cached_job(_retrain_on, (data, split, epochs, seed), spec, "RT", seed)


def row(run: Run) -> dict:
    """The row an image or RT job's run holds."""
    return run.history.iloc[0].to_dict()


# --------------------------------------------------------------------------- the table


def run_table(
    original,
    data: Digits,
    splits: dict[str, Split],
    configs: dict[str, list[Config]],
    protocol: Protocol,
    seeds: list[int],
    epochs: int,
    progress: bool = True,
    retrain: bool = True,
) -> pd.DataFrame:
    """Every scenario x (No-unlearn, RT, each config) x seed: one row per run with
    scenario, label, seed, lr, final_lr (AutoLR's last rate), seconds, diverged_at and
    the metrics. ``configs[scenario]`` carry their tuned rates; RT trains ``epochs``
    (``retrain=False`` leaves RT out: no claim needs it, only Gap)."""
    jobs, labels = [], []
    for scenario, split in splits.items():
        for config in ["RT"] * retrain + configs[scenario]:
            for seed in seeds:
                if config == "RT":
                    jobs.append(retrain_job(data, split, epochs, seed))
                else:
                    jobs.append(image_job(original, data, split, config, protocol, seed))
                labels.append((scenario, getattr(config, "label", config), seed))
    done = dict(zip(labels, execute(jobs, desc="runs", progress=progress)))
    rows = []
    for scenario, split in splits.items():  # No-unlearn, RT, then each config, seed by seed
        rows += [
            {"scenario": scenario, "label": "No-unlearn", "seed": seed, "diverged_at": None}
            | evaluate(original, data, split, seed)
            for seed in seeds
        ]
        rows += [{"scenario": k, "label": label, "seed": s, **row(done[k, label, s])}
                 for k, label, s in labels if k == scenario]  # fmt: skip
    table = pd.DataFrame(rows)
    table["diverged_at"] = table["diverged_at"].astype(float)
    return table
