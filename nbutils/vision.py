"""Unlearning on images (NGDiff Appendix D, Table 4; the DualOptim slides' image tables).

The benchmark is scikit-learn's 8x8 handwritten digits (1797 images, 10 classes,
bundled with the package: nothing is downloaded), split into train and test with a
seed. A small CNN is trained on every training image (the *original*, "No-unlearn"
model), then unlearned with the engine's direction rules (``unlearn.Unlearner``) in
two scenarios:

- *class*: as in Appendix D, the forget set F is a sample of one class's training
  images and the retain set R the training images of the other classes (the class's
  unsampled training images are in neither);
- *random*: as in the slides, F is a random 10% of the training images, R the rest.

RT, the model retrained from scratch on R alone, is the gold reference. Metrics
(slides): forget accuracy FA, retain accuracy RA, test accuracy TA (with its share on
the forgotten class and on the other classes), and MIA, the share of F that a
membership-inference attack calls members (``nbutils.mia``); each method's *Gap* is
its mean absolute difference to RT over FA, RA, TA, MIA, and its *Std* the mean over
those four of the standard deviation over seeds. Everything is a fraction in [0, 1].

Tiny convolutions run far faster on one CPU thread than on two threads that other
processes also want (measured on the project's 2-core machine with other jobs running:
3.6 ms per training step of batch 64 on one thread, 42-128 ms on two), so the CPU work
here runs single-threaded (``cpu_threads``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits as _sklearn_digits
from sklearn.model_selection import train_test_split
from torch import nn
from tqdm.auto import tqdm

from . import experiments, mia, unlearn
from .autolr import AutoLR
from .figures import gdiff_color, method_color

METRICS = ("FA", "RA", "TA", "MIA")  # the slides' four; Gap and Std run over these
FORGETS = 0.05  # FA at or below which a class-unlearning run counts as forgetting
TUNING_SEED_OFFSET = 1000  # as in nbutils.experiments: never one of the evaluation seeds


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class Digits:
    """Train and test images (n, 1, 8, 8), pixel values in [0, 1], and labels (n,)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    seed: int

    def to(self, device) -> Digits:
        moved = {k: getattr(self, k).to(device) for k in ("train_images", "train_labels")}
        moved |= {k: getattr(self, k).to(device) for k in ("test_images", "test_labels")}
        return replace(self, **moved)


def load_digits(seed: int, test_fraction: float = 0.25) -> Digits:
    """The 8x8 digits split into train and test, stratified by class, shuffled by ``seed``."""
    bunch = _sklearn_digits()
    images = torch.tensor(bunch.images / 16.0, dtype=torch.float32).unsqueeze(1)
    labels = torch.tensor(bunch.target, dtype=torch.long)
    train, test = train_test_split(
        np.arange(len(labels)), test_size=test_fraction, stratify=bunch.target, random_state=seed
    )
    train, test = torch.as_tensor(train), torch.as_tensor(test)
    return Digits(images[train], labels[train], images[test], labels[test], seed)


@dataclass(frozen=True)
class Split:
    """Forget and retain sets as indices into the training images.

    ``forget_class`` is the class unlearned in the class scenario (None for a random
    subset); its unsampled training images, if any, are in neither set.
    """

    scenario: str
    forget: torch.Tensor
    retain: torch.Tensor
    forget_class: int | None = None

    def sets(self, data: Digits) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """(images, labels) of F, R and the test set."""
        x, y = data.train_images, data.train_labels
        return {
            "forget": (x[self.forget], y[self.forget]),
            "retain": (x[self.retain], y[self.retain]),
            "test": (data.test_images, data.test_labels),
        }


def class_split(data: Digits, forget_class: int, n_forget: int, seed: int) -> Split:
    """Appendix D: F = ``n_forget`` training images of ``forget_class`` drawn with
    ``seed``; R = every training image of the other classes."""
    labels = data.train_labels.cpu().numpy()
    members = np.flatnonzero(labels == forget_class)
    if not 1 <= n_forget <= len(members):
        raise ValueError(
            f"n_forget must lie in [1, {len(members)}] (training images of class "
            f"{forget_class}), got {n_forget}"
        )
    forget = np.sort(np.random.default_rng(seed).choice(members, n_forget, replace=False))
    retain = np.flatnonzero(labels != forget_class)
    return Split("class", torch.as_tensor(forget), torch.as_tensor(retain), int(forget_class))


def random_split(data: Digits, fraction: float, seed: int) -> Split:
    """The slides' random-subset unlearning: F = a random ``fraction`` of the training
    images (at least one), R = the rest."""
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must lie in (0, 1), got {fraction!r}")
    n = len(data.train_labels)
    forget = np.sort(
        np.random.default_rng(seed).choice(n, max(1, round(fraction * n)), replace=False)
    )
    retain = np.setdiff1d(np.arange(n), forget)
    return Split("random", torch.as_tensor(forget), torch.as_tensor(retain))


# --------------------------------------------------------------------------- model


class SmallCNN(nn.Sequential):
    """conv3x3(16) -> ReLU -> pool -> conv3x3(32) -> ReLU -> pool -> 64 -> 10 logits
    (13,706 parameters; no dropout or batch norm, so a gradient depends on the
    parameters and the batch alone)."""

    def __init__(self, n_classes: int = 10):
        super().__init__(
            nn.Conv2d(1, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(32 * 2 * 2, 64),
            nn.ReLU(),
            nn.Linear(64, n_classes),
        )


@contextlib.contextmanager
def cpu_threads(n: int = 1):
    """Run the block with ``n`` torch CPU threads, then restore the previous count."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def cross_entropy(model, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Mean cross-entropy of a batch (images, labels): the task loss L_R or L_F."""
    images, labels = batch
    return F.cross_entropy(model(images), labels)


def batch_stream(
    images: torch.Tensor, labels: torch.Tensor, batch_size: int, seed: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Endless batches (images, labels): a fresh seeded permutation every epoch, batches
    of ``min(batch_size, n)`` (the last of an epoch may be smaller)."""
    n = len(labels)
    if n == 0:
        raise ValueError("cannot draw batches from an empty set")
    generator = torch.Generator().manual_seed(seed)
    size = min(batch_size, n)
    while True:
        order = torch.randperm(n, generator=generator).to(labels.device)
        for start in range(0, n, size):
            rows = order[start : start + size]
            yield images[rows], labels[rows]


def train_classifier(
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    epochs: int,
    seed: int,
    batch_size: int = 64,
    lr: float = 3e-3,
) -> SmallCNN:
    """A ``SmallCNN`` trained from scratch with Adam for ``epochs`` passes (the
    pretraining recipe of both the original model and RT; seeded init and order)."""
    torch.manual_seed(seed)
    model = SmallCNN().to(images.device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    batches = batch_stream(images, labels, batch_size, seed)
    steps = epochs * math.ceil(len(labels) / min(batch_size, len(labels)))
    with cpu_threads(1):
        for _ in range(steps):
            loss = cross_entropy(model, next(batches))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return model.eval()


# --------------------------------------------------------------------------- metrics


@torch.no_grad()
def accuracy(model, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Share of images whose top logit is their label (NaN for an empty set)."""
    return _accuracy(model(images), labels)


def _accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    if len(labels) == 0:
        return math.nan
    return (logits.argmax(dim=1) == labels).double().mean().item()


@torch.no_grad()
def evaluate(model, data: Digits, split: Split, seed: int = 0) -> dict[str, float]:
    """FA, RA, TA and MIA (fractions); with a forgotten class also TA on that class
    (``TA_forgotten``) and on the others (``TA_rest``). One forward pass per set; the
    attack's balancing sample is drawn with ``seed``."""
    with cpu_threads(1):
        logits = {name: (model(x), y) for name, (x, y) in split.sets(data).items()}
    features = {name: mia.features(*pair) for name, pair in logits.items()}
    out = {
        "FA": _accuracy(*logits["forget"]),
        "RA": _accuracy(*logits["retain"]),
        "TA": _accuracy(*logits["test"]),
        "MIA": mia.member_share_of(features["forget"], features["retain"], features["test"], seed),
    }
    if split.forget_class is not None:
        test_logits, test_labels = logits["test"]
        mask = test_labels == split.forget_class
        out["TA_forgotten"] = _accuracy(test_logits[mask], test_labels[mask])
        out["TA_rest"] = _accuracy(test_logits[~mask], test_labels[~mask])
    return out


def gap_to_reference(means: pd.DataFrame, reference: str = "RT") -> pd.Series:
    """The slides' Gap: per row, mean over FA, RA, TA, MIA of |value - reference row's|."""
    cols = list(METRICS)
    return (means[cols] - means.loc[reference, cols]).abs().mean(axis=1)


def std_column(stds: pd.DataFrame) -> pd.Series:
    """The slides' Std: per row, the mean over FA, RA, TA, MIA of the std over seeds."""
    return stds[list(METRICS)].mean(axis=1)


# --------------------------------------------------------------------------- unlearning


@dataclass(frozen=True)
class Protocol:
    """Everything about an unlearning run except method, rate and seed (SGD, as in
    Algorithm 1; ``epochs`` is the pretraining length of the original model and RT)."""

    steps: int = 50
    batch_size: int = 32
    epochs: int = 30
    lr_grid: tuple[float, ...] = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0)


SMOKE_PROTOCOL = Protocol(steps=10, epochs=5, lr_grid=(0.01, 0.3))


def protocol(smoke: bool, steps: int | None = None) -> Protocol:
    """The default protocol, or the smoke one; ``steps`` overrides the unlearning steps."""
    base = SMOKE_PROTOCOL if smoke else Protocol()
    return base if steps is None or smoke else replace(base, steps=steps)


@dataclass(frozen=True)
class Config:
    """One line of the table: a label, an ``unlearn.METHODS`` name, its rate, AutoLR."""

    label: str
    method: str
    lr: float = math.nan
    autolr: AutoLR | None = None


TABLE4 = [
    Config("GDiff-0.9", "GDiff-0.9"),
    Config("GDiff-0.5", "GDiff-0.5"),
    Config("GDiff-0.1", "GDiff-0.1"),
    Config("LossNorm", "LossNorm"),
    Config("NGDiff", "NGDiff"),
    Config("NGDiff+AutoLR", "NGDiff", autolr=AutoLR.plain()),
]


@dataclass
class Run:
    """One unlearning (or retraining) run: its metrics, per-step history, seconds."""

    config: Config
    seed: int
    metrics: dict[str, float]
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    seconds: float = 0.0
    diverged_at: int | None = None


def _finite(model) -> bool:
    return all(torch.isfinite(p).all() for p in model.parameters())


def unlearn_run(
    original, data: Digits, split: Split, config: Config, protocol: Protocol, seed: int
) -> Run:
    """Algorithm 1 on a copy of ``original``: ``protocol.steps`` steps, each on a fresh
    retain batch and a fresh forget batch (seeded by ``seed``), then ``evaluate``.

    A run whose loss, gradient or parameters become non-finite is recorded as diverged
    (``diverged_at``, NaN metrics), not raised.
    """
    start = time.perf_counter()
    model = copy.deepcopy(original).eval()
    sets = split.sets(data)
    retain = batch_stream(*sets["retain"], protocol.batch_size, seed * 4 + 1)
    forget = batch_stream(*sets["forget"], protocol.batch_size, seed * 4 + 2)
    unlearner = unlearn.Unlearner(
        model,
        unlearn.method(config.method),
        lr=config.lr,
        loss=cross_entropy,
        autolr=config.autolr,
        probes=batch_stream(*sets["retain"], protocol.batch_size, seed * 4 + 3),
        seed=seed * 4 + 4,
    )
    rows, diverged_at = [], None
    with cpu_threads(1):
        for t in range(protocol.steps):
            try:
                rows.append({"step": t, **unlearner.step(t, next(retain), next(forget))})
            except FloatingPointError:
                diverged_at = t
                break
    if diverged_at is None and not _finite(model):
        diverged_at = protocol.steps
    metrics = (
        evaluate(model, data, split, seed)
        if diverged_at is None
        else {m: math.nan for m in METRICS}
    )
    return Run(config, seed, metrics, pd.DataFrame(rows), time.perf_counter() - start, diverged_at)


def retrain_run(data: Digits, split: Split, protocol: Protocol, seed: int) -> Run:
    """RT: a fresh model trained on R alone with the original's recipe, evaluated."""
    start = time.perf_counter()
    model = train_classifier(*split.sets(data)["retain"], epochs=protocol.epochs, seed=seed)
    metrics = evaluate(model, data, split, seed)
    return Run(Config("RT", "retrain"), seed, metrics, seconds=time.perf_counter() - start)


# --------------------------------------------------------------------------- rates


@dataclass
class Tuning:
    label: str
    scenario: str
    lr: float
    table: pd.DataFrame  # one row per grid rate: lr, FA, RA, TA, MIA, gap, diverged_at
    rule: str


def choose_lr(table: pd.DataFrame, scenario: str) -> tuple[float, str]:
    """The rate a tuning table picks (diverged rows are never chosen; ties go to the
    smaller rate).

    class: the highest RA among rates with FA <= ``FORGETS``; if none forgets, the
    lowest FA (the LM notebooks' rule, with accuracy for ROUGE). random: the smallest
    Gap to RT (random-subset forgetting has no target FA: RT still classifies most of
    F correctly, so "forgetting" means resembling RT).
    """
    ok = table[table.diverged_at.isna()]
    if ok.empty:
        raise RuntimeError(f"every rate of the grid diverged: {list(table.lr)}")
    if scenario == "random":
        best = ok.sort_values(["gap", "lr"]).iloc[0]
        return float(best.lr), "smallest Gap to RT"
    return experiments.choose_rate(ok, "FA", "RA", FORGETS, ("FA", "RA"))


def tune_lr(
    original,
    data: Digits,
    split: Split,
    config: Config,
    protocol: Protocol,
    seed: int,
    reference: dict[str, float] | None = None,
) -> Tuning:
    """``config``'s rate from ``protocol.lr_grid`` by ``choose_lr``, measured on the
    held-out seed ``seed + 1000``. The random scenario's Gap is to ``reference``, the
    metrics of RT at that seed (retrained here when not given)."""
    tuning_seed = seed + TUNING_SEED_OFFSET
    rows = []
    for lr in protocol.lr_grid:
        run = unlearn_run(original, data, split, replace(config, lr=lr), protocol, tuning_seed)
        rows.append({"lr": lr, **run.metrics, "diverged_at": run.diverged_at})
    table = pd.DataFrame(rows)
    table["diverged_at"] = table["diverged_at"].astype(float)
    if split.scenario == "random":
        if reference is None:
            reference = retrain_run(data, split, protocol, tuning_seed).metrics
        table["gap"] = (
            table[list(METRICS)].sub(pd.Series(reference)[list(METRICS)]).abs().mean(axis=1)
        )
    lr, rule = choose_lr(table, split.scenario)
    return Tuning(config.label, split.scenario, lr, table, rule)


def tune_all(
    original,
    data: Digits,
    splits: dict[str, Split],
    configs: list[Config],
    protocol: Protocol,
    seed: int,
    progress: bool = True,
) -> tuple[dict[str, list[Config]], pd.DataFrame]:
    """Tune every config without AutoLR in every scenario (``tune_lr``); a config with
    AutoLR starts from the tuned rate of the same method without it. Returns the
    configs with their rates per scenario and a table of the choices (the tuning
    seed's metrics at the chosen rate)."""
    tuned: dict[tuple[str, str], Tuning] = {}
    references = {  # one RT per scenario that needs it, shared by every method
        name: retrain_run(data, split, protocol, seed + TUNING_SEED_OFFSET).metrics
        for name, split in splits.items()
        if split.scenario == "random"
    }
    jobs = [(s, c) for s in splits for c in configs if c.autolr is None]
    for scenario, config in tqdm(jobs, desc="tuning", disable=not progress):
        tuned[scenario, config.method] = tune_lr(
            original, data, splits[scenario], config, protocol, seed, references.get(scenario)
        )
    chosen, rows = {}, []
    for scenario in splits:
        chosen[scenario] = []
        for config in configs:
            tuning = tuned[scenario, config.method]
            chosen[scenario].append(replace(config, lr=tuning.lr))
            at = tuning.table[tuning.table.lr == tuning.lr].iloc[0]
            rule = tuning.rule if config.autolr is None else f"start at {tuning.label}'s rate"
            rows.append(
                {"scenario": scenario, "label": config.label, "lr": tuning.lr, "rule": rule}
                | {f"tuning {m}": at[m] for m in ("FA", "RA")}
            )
    return chosen, pd.DataFrame(rows)


# --------------------------------------------------------------------------- the table


def run_table(
    original,
    data: Digits,
    splits: dict[str, Split],
    configs: dict[str, list[Config]],
    protocol: Protocol,
    seeds: list[int],
    progress: bool = True,
) -> pd.DataFrame:
    """Every scenario x (No-unlearn, RT, each config) x seed: one row per run with
    scenario, label, seed, lr, final_lr (AutoLR's last rate), seconds, diverged_at and
    the metrics. ``configs[scenario]`` carry their tuned rates."""
    jobs = [
        (scenario, config, seed)
        for scenario in splits
        for config in [Config("No-unlearn", "none"), Config("RT", "retrain"), *configs[scenario]]
        for seed in seeds
    ]
    rows = []
    for scenario, config, seed in tqdm(jobs, desc="runs", disable=not progress):
        split = splits[scenario]
        if config.label == "No-unlearn":
            run = Run(config, seed, evaluate(original, data, split, seed))
        elif config.label == "RT":
            run = retrain_run(data, split, protocol, seed)
        else:
            run = unlearn_run(original, data, split, config, protocol, seed)
        lrs = run.history["lr"] if "lr" in run.history else pd.Series(dtype=float)
        rows.append(
            {
                "scenario": scenario,
                "label": config.label,
                "seed": seed,
                "lr": config.lr,
                "final_lr": lrs.iloc[-1] if len(lrs) else math.nan,
                "seconds": run.seconds,
                "diverged_at": run.diverged_at,
                **run.metrics,
            }
        )
    return pd.DataFrame(rows)


def summarize(runs: pd.DataFrame, scenario: str) -> pd.DataFrame:
    """One row per label (in run order) for one scenario: mean and std (ddof=1) of
    each metric over the finished runs, Gap to RT, Std, and runs / diverged counts."""
    rows = runs[runs.scenario == scenario]
    order = list(dict.fromkeys(rows.label))
    done = rows[rows.diverged_at.isna()]
    columns = [
        c for c in (*METRICS, "TA_forgotten", "TA_rest") if c in done and done[c].notna().any()
    ]
    means = done.groupby("label")[columns].mean().reindex(order)
    stds = done.groupby("label")[columns].std(ddof=1).reindex(order)
    table = pd.concat({"mean": means, "std": stds}, axis=1).swaplevel(axis=1)
    table = table[[(c, s) for c in columns for s in ("mean", "std")]]
    table[("Gap", "")] = gap_to_reference(means)
    table[("Std", "")] = std_column(stds)
    table[("runs", "")] = rows.groupby("label").size().reindex(order)
    table[("diverged", "")] = rows.groupby("label").diverged_at.count().reindex(order)
    return table


def formatted(table: pd.DataFrame) -> pd.DataFrame:
    """``summarize``'s table as the slides print it: "mean ± std" cells, Gap, Std."""
    out = pd.DataFrame(index=table.index)
    for metric in dict.fromkeys(c for c, _ in table.columns):
        if (metric, "mean") in table:
            out[metric] = [
                f"{m:.3f} ± {s:.3f}"
                for m, s in zip(table[(metric, "mean")], table[(metric, "std")])
            ]
        else:
            out[metric] = table[(metric, "")].round(3)
    return out


def closest_to_reference(table: pd.DataFrame, candidates: list[str]) -> tuple[str, float]:
    """Among ``candidates``, the label with the smallest Gap to RT, and that Gap."""
    gaps = table.loc[candidates, ("Gap", "")]
    return gaps.idxmin(), float(gaps.min())


def best_retainer(table: pd.DataFrame, candidates: list[str]) -> tuple[str | None, float]:
    """Among ``candidates`` whose mean FA <= ``FORGETS``, the label with the highest mean
    RA and that RA (None, NaN when none forgets)."""
    rows = table.loc[candidates]
    forgetting = rows[rows[("FA", "mean")] <= FORGETS]
    if forgetting.empty:
        return None, math.nan
    label = forgetting[("RA", "mean")].idxmax()
    return label, float(forgetting.loc[label, ("RA", "mean")])


def table_claims(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per label: mean and std of each metric, Gap and Std (finite numbers only)."""
    out = {}
    for label, row in table.iterrows():
        values = {f"{c}_{s}" if s else c: row[(c, s)] for c, s in table.columns}
        out[label] = {k: float(v) for k, v in values.items() if np.isfinite(v)}
    return out


# --------------------------------------------------------------------------- figure


def label_color(label: str):
    """GDiff(c) on the blue ramp, RT black, No-unlearn grey, the rest by method."""
    if label.startswith("GDiff-"):
        return gdiff_color(float(label.split("-")[1]))
    return {"RT": method_color("retrain"), "No-unlearn": "#9e9e9e"}.get(
        label, method_color(label.lower())
    )


METRIC_TITLES = {
    "FA": "FA: accuracy on F",
    "RA": "RA: accuracy on R",
    "TA": "TA: accuracy on test",
    "MIA": "MIA: share of F called members",
}


def _tick(label: str, lrs: pd.Series) -> str:
    lr = lrs.dropna()
    if not len(lr):
        return label
    return f"{label} (lr {'from ' if 'AutoLR' in label else ''}{lr.iloc[0]:g})"


def plot_table(runs: pd.DataFrame, titles: dict[str, str], n_seeds: int):
    """Dot plot: one row of panels per scenario, one panel per metric; per method (its
    tuned rate in the tick label) the seeds as small dots and mean ± std as a bar; RT's
    mean as a dashed line. Diverged runs are left out."""
    scenarios = [s for s in titles if s in set(runs.scenario)]
    fig, axes = plt.subplots(
        len(scenarios), len(METRICS), figsize=(14, 2.1 + 2.3 * len(scenarios)), sharey="row"
    )
    axes = np.atleast_2d(axes)
    for row, scenario in zip(axes, scenarios):
        rows = runs[(runs.scenario == scenario) & runs.diverged_at.isna()]
        labels = list(dict.fromkeys(rows.label))
        ticks = [_tick(label, rows.loc[rows.label == label, "lr"]) for label in labels]
        for ax, metric in zip(row, METRICS):
            for y, label in enumerate(labels):
                values = rows.loc[rows.label == label, metric].to_numpy(float)
                color = label_color(label)
                ax.scatter(values, np.full(len(values), y), s=12, color=color, alpha=0.5)
                std = values.std(ddof=1) if len(values) > 1 else 0.0
                ax.errorbar(values.mean(), y, xerr=std, fmt="D", color=color, ms=6, capsize=3)
            reference = rows.loc[rows.label == "RT", metric].mean()
            ax.axvline(reference, color="black", ls="--", lw=1)
            ax.set(xlim=(-0.05, 1.05), xlabel="fraction of images", title=METRIC_TITLES[metric])
            ax.set_yticks(range(len(labels)), ticks)
        row[0].set_ylabel(titles[scenario])
        row[0].invert_yaxis()
    fig.suptitle(
        f"Digits unlearning: mean ± std (bars) over {n_seeds} seeds, seeds as dots; "
        "dashed line = RT (retrained on R), the gold reference",
        fontsize=11,
    )
    return fig
