"""Targets: a model fine-tuned on F and R until it has memorized both ("No-unlearn";
DESIGN.md, data flow step 2).

Targets are cached on disk under a key that hashes everything that determines them (one
process trains a target while the others that want it wait: ``jsonio.computing``); a cached
target is written atomically, checked against its SHA-256 and loaded with
``torch.load(weights_only=True)``; anything that fails those checks is rebuilt, never
trusted. A ``TargetRef`` names a cached target for another process (``open_target``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import tokenizers
import torch
import transformers
from tqdm.auto import tqdm

from . import paths, runtime
from .batches import BatchStream, answer_loss, batches, encode_records
from .data import Benchmark
from .jsonio import computing
from .models import (
    TINY_CONFIG,
    TINY_MODEL,
    benchmark_corpus,
    build_tiny_model,
    load_pretrained,
    train_tokenizer,
)


@dataclass(frozen=True)
class TargetSettings:
    """How the target is fine-tuned (AdamW, linear warm-up then constant)."""

    lr: float = 3e-3
    batch_size: int = 32
    max_epochs: int = 120
    weight_decay: float = 0.0
    warmup_steps: int = 20
    check_every: int = 5  # epochs between memorization checks
    memorized_share: float = 1.0  # stop when this share of records is memorized
    gradient_checkpointing: bool = False  # recompute layer activations in backward (memory)
    max_length: int = 256
    vocab_size: int = 2048  # tiny model only
    model_config: dict = field(default_factory=dict)  # overrides of TINY_CONFIG


@dataclass(frozen=True)
class TargetRef:
    """What another process needs to open a cached target: its folder, how its forwards
    run (``dtype`` autocast, gradient checkpointing) and the device. Unlike a ``Target``
    it is a few strings, so a run can be sent to a worker process or a cluster."""

    path: str
    dtype: str = "float32"
    gradient_checkpointing: bool = False
    device: str = "cpu"


@dataclass
class Target:
    """A fine-tuned target and how it was obtained."""

    model: torch.nn.Module
    tokenizer: object
    key: str
    path: Path
    from_cache: bool
    train_seconds: float
    epochs: int
    memorized_share: float
    dtype: str = "float32"
    gradient_checkpointing: bool = False
    setting: str = ""  # ``target_setting``: what targets of other draws share with this one

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    @property
    def ref(self) -> TargetRef:
        """This target as a ``TargetRef`` (and remembered, so that this process opens it
        without reading the disk: ``open_target``)."""
        device = str(next(self.model.parameters()).device)
        ref = TargetRef(str(self.path), self.dtype, self.gradient_checkpointing, device)
        _OPEN[ref] = self
        return ref


_OPEN: dict[TargetRef, Target] = {}  # targets this process holds, by reference
_OPEN_MAX = 2  # a worker keeps the targets of at most two draws in memory


def open_target(ref: TargetRef) -> Target:
    """The target ``ref`` names: the one this process already holds, else loaded from
    its cache folder (checked as ``train_target`` checks it) and kept for the next run."""
    if ref in _OPEN:
        return _OPEN[ref]
    folder = Path(ref.path)
    net, tokenizer, meta = _load(folder, ref.device)
    _prepare(net, ref.dtype, ref.gradient_checkpointing)
    while len(_OPEN) >= _OPEN_MAX:
        _OPEN.pop(next(iter(_OPEN)))
    _OPEN[ref] = Target(
        net,
        tokenizer,
        meta["key"],
        folder,
        True,
        meta["train_seconds"],
        meta["epochs"],
        meta["memorized_share"],
        ref.dtype,
        ref.gradient_checkpointing,
        meta.get("setting", ""),
    )
    return _OPEN[ref]


def _prepare(net, dtype: str, checkpointing: bool):
    """Autocast every forward to ``dtype`` (not float32) and turn on checkpointing."""
    if dtype != "float32":
        runtime.autocast_forward(net, runtime.DTYPES[dtype])
    if checkpointing:
        runtime.gradient_checkpointing(net)
    return net


def _target_spec(model: str, settings: TargetSettings, splits: str, dtype: str) -> dict:
    spec = {
        "model": model,
        "tiny_config": TINY_CONFIG if model == TINY_MODEL else None,
        "splits": splits,
        "settings": asdict(settings),
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "tokenizers": tokenizers.__version__,
        },
    }
    if dtype != "float32":  # autocast precision; absent for float32, which keeps older keys
        spec["autocast"] = dtype
    return spec


def target_setting(
    benchmark: Benchmark, model: str, settings: TargetSettings, splits: str, dtype: str = "float32"
) -> str:
    """Hash of what determines a target except its draw (benchmark records and seed): the
    targets of every draw of one setting share it, and so do the rates tuned for them."""
    spec = {**_target_spec(model, settings, splits, dtype), "data": benchmark.setting}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def target_key(
    benchmark: Benchmark,
    model: str,
    seed: int,
    settings: TargetSettings,
    splits: str,
    dtype: str = "float32",
) -> str:
    """Hash of everything that determines a target (data, model, seed, settings, precision,
    versions)."""
    spec = {
        **_target_spec(model, settings, splits, dtype),
        "benchmark": benchmark.fingerprint(),
        "seed": seed,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def memorized_share(model, items, pad_id: int, batch_size: int = 64) -> float:
    """Share of records whose every answer token is the model's argmax (teacher forced).

    A record that passes is reproduced exactly by greedy decoding.
    """
    model.eval()
    device = next(model.parameters()).device
    hits = 0
    with torch.no_grad():
        for batch in batches(items, batch_size, pad_id):
            batch = batch.to(device)
            width = batch.answer_width
            logits = model(
                input_ids=batch.input_ids,
                attention_mask=batch.attention_mask,
                position_ids=batch.position_ids,
                logits_to_keep=width + 1,
            ).logits
            correct = (
                logits[:, :-1].argmax(-1) == batch.input_ids[:, -width:]
            ) | ~batch.answer_mask
            hits += int(correct.all(dim=1).sum())
    return hits / len(items)


def _fit(model, tokenizer, items, settings: TargetSettings, seed: int, device, progress: bool):
    model.to(device).train()
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / max(1, settings.warmup_steps))
    )
    stream = BatchStream(items, settings.batch_size, tokenizer.pad_token_id, seed, device)
    steps_per_epoch = -(-len(items) // stream.batch_size)
    share, epoch = 0.0, 0
    bar = tqdm(range(settings.max_epochs), desc="fine-tuning target", disable=not progress)
    for epoch in bar:
        model.train()
        for _ in range(steps_per_epoch):
            loss = answer_loss(model, next(stream))
            loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
        if (epoch + 1) % settings.check_every == 0 or epoch + 1 == settings.max_epochs:
            share = memorized_share(model, items, tokenizer.pad_token_id)
            bar.set_postfix(loss=f"{loss.item():.3f}", memorized=f"{share:.3f}")
            if share >= settings.memorized_share:
                break
    model.eval()
    return epoch + 1, share


def _sha256(file: Path) -> str:
    return hashlib.sha256(file.read_bytes()).hexdigest()


def _save(folder: Path, model, tokenizer, meta: dict) -> None:
    """Write the target into ``folder`` atomically (a temp folder renamed into place)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    try:
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp / "model.pt")
        model.config.to_json_file(tmp / "config.json")
        tokenizer.save_pretrained(tmp / "tokenizer")
        meta = {**meta, "sha256": _sha256(tmp / "model.pt")}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _load(folder: Path, device):
    """Load a cached target, or raise if any check fails."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    meta = json.loads((folder / "meta.json").read_text())
    if _sha256(folder / "model.pt") != meta["sha256"]:
        raise ValueError("checksum mismatch")
    state = torch.load(folder / "model.pt", map_location="cpu", weights_only=True)
    config = AutoConfig.from_pretrained(folder)
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(state, strict=True)
    tokenizer = AutoTokenizer.from_pretrained(folder / "tokenizer")
    tokenizer.padding_side = "left"
    return model.to(device).eval(), tokenizer, meta


def train_target(
    benchmark: Benchmark,
    model: str = TINY_MODEL,
    *,
    seed: int = 0,
    settings: TargetSettings = TargetSettings(),
    splits: str = "all",
    device: torch.device | str = "cpu",
    cache_dir: Path | str | None = None,
    progress: bool = True,
    dtype: str = "float32",
) -> Target:
    """Fine-tune ``model`` on F and R (``splits="all"``) or R only (``"retain"``) until
    memorized, or load the cached result.

    ``model`` is ``"tiny"`` (tokenizer trained on the benchmark, GPT-2 built from a
    config) or a hub name / local path. ``dtype`` other than float32 runs every forward
    under autocast to it (parameters stay float32), in fine-tuning and afterwards;
    ``settings.gradient_checkpointing`` likewise stays on the returned model.
    ``Target.train_seconds`` is the time the fine-tuning took, also when the target now
    comes from the cache.
    """
    if splits not in ("all", "retain"):
        raise ValueError(f"splits must be 'all' or 'retain', got {splits!r}")
    if dtype not in runtime.DTYPES:
        raise ValueError(f"dtype must be one of {sorted(runtime.DTYPES)}, got {dtype!r}")
    checkpointing = settings.gradient_checkpointing

    def prepare(net):
        return _prepare(net, dtype, checkpointing)

    key = target_key(benchmark, model, seed, settings, splits, dtype)
    setting = target_setting(benchmark, model, settings, splits, dtype)
    folder = Path(cache_dir or paths.cache_dir()) / "targets" / key
    with computing(folder) as mine:
        if not mine:
            try:
                net, tokenizer, meta = _load(folder, device)
                return Target(
                    prepare(net),
                    tokenizer,
                    key,
                    folder,
                    True,
                    meta["train_seconds"],
                    meta["epochs"],
                    meta["memorized_share"],
                    dtype,
                    checkpointing,
                    setting,
                )
            except Exception as err:  # a corrupt cache is rebuilt, not trusted
                warnings.warn(
                    f"cached target {folder} is unreadable ({err}); rebuilding", stacklevel=2
                )
                shutil.rmtree(folder, ignore_errors=True)
                return train_target(
                    benchmark,
                    model,
                    seed=seed,
                    settings=settings,
                    splits=splits,
                    device=device,
                    cache_dir=cache_dir,
                    progress=progress,
                    dtype=dtype,
                )
        if model == TINY_MODEL:
            tokenizer = train_tokenizer(benchmark_corpus(benchmark), settings.vocab_size)
            net = build_tiny_model(tokenizer, seed=seed, **settings.model_config)
        else:
            net, tokenizer = load_pretrained(model)
        prepare(net.to(device))
        records = benchmark.forget + benchmark.retain if splits == "all" else benchmark.retain
        items = encode_records(tokenizer, records, settings.max_length)
        start = time.perf_counter()
        epochs, share = _fit(net, tokenizer, items, settings, seed, device, progress)
        seconds = time.perf_counter() - start
        _save(
            folder,
            net,
            tokenizer,
            {
                "key": key,
                "epochs": epochs,
                "memorized_share": share,
                "train_seconds": seconds,
                "model": model,
                "setting": setting,
            },
        )
    return Target(
        net, tokenizer, key, folder, False, seconds, epochs, share, dtype, checkpointing, setting
    )
