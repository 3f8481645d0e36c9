"""Cost of one unlearning step: GDiff (one backward) against NGDiff and NGDiff + AutoLR.

GDiff is timed as common implementations write it: one backward of
c L_R - (1 - c) L_F and an SGD update. NGDiff and NGDiff + AutoLR(k=10) are the
engine's own step (``nbutils.engine.unlearner.Unlearner.step``): two backwards, the direction
in place, and every 10th step two probe forwards. All variants see the same batches,
interleaved (the order rotates each repeat), with a learning rate too small to change
the loss much; each repeat times a window of 10 steps (one AutoLR update), and the
table reports the median over repeats.

Peak memory is the largest amount allocated during one step beyond what was live
before it: on CUDA from ``torch.cuda.max_memory_allocated``, on CPU from the
profiler's record of every allocation and free. Tokens/s counts the non-padding tokens
of both batches of a step.

The Phi-1.5 architecture (``phi_offline.py``: random weights, 1.42 B parameters) runs as
the paper scale runs it: bfloat16 autocast over float32 weights, gradient checkpointing.

    python benchmarks/step_cost.py [--repeats 7] [--device cpu] [--configs NAME ...]
                                   [--json out.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time

import torch
from phi_offline import build_phi15
from torch.profiler import ProfilerActivity, profile

from nbutils.core import data, models, runtime
from nbutils.core.batches import BatchStream, answer_loss, encode_records
from nbutils.engine.autolr import AutoLR
from nbutils.engine.gradients import add_, trainable
from nbutils.engine.methods import Method
from nbutils.engine.unlearner import Unlearner

CONFIGS = {
    "tiny": lambda tok: models.build_tiny_model(tok, **models.TINY_CONFIG),
    "gpt2-26m": lambda tok: models.build_tiny_model(
        tok, n_embd=512, n_layer=8, n_head=8, n_positions=256
    ),
    "phi-1.5": build_phi15,
}
PAPER_PRECISION = {"phi-1.5"}  # bfloat16 autocast and gradient checkpointing, as at paper scale
WINDOW = 10  # steps per timing window: one AutoLR(k=10) update in each
LR = 1e-7


class GDiffOneBackward:
    """The usual baseline: d = grad of c L_R - (1 - c) L_F in one backward, SGD update.
    Both batches' activations are alive during that backward."""

    def __init__(self, model, c: float = 0.5):
        self.model, self.c, self.params = model, c, trainable(model)

    def step(self, t, batch_r, batch_f) -> dict:
        loss_r, loss_f = answer_loss(self.model, batch_r), answer_loss(self.model, batch_f)
        grads = torch.autograd.grad(self.c * loss_r - (1 - self.c) * loss_f, self.params)
        add_(self.params, grads, -LR)
        return {"loss_retain": loss_r.item(), "loss_forget": loss_f.item()}


class GDiffAccumulated(GDiffOneBackward):
    """The memory-lean baseline: c L_R and -(1 - c) L_F back-propagated one after the
    other into one gradient buffer (``.grad``): one batch's activations at a time."""

    def step(self, t, batch_r, batch_f) -> dict:
        loss_r = answer_loss(self.model, batch_r)
        (self.c * loss_r).backward()
        loss_f = answer_loss(self.model, batch_f)
        (-(1 - self.c) * loss_f).backward()
        add_(self.params, [p.grad for p in self.params], -LR)
        for p in self.params:
            p.grad = None
        return {"loss_retain": loss_r.item(), "loss_forget": loss_f.item()}


class EngineStep:
    """The engine's own joint step (NGDiff, optionally with AutoLR), fed the benchmark's
    batches through one-batch streams."""

    def __init__(self, model, autolr: AutoLR | None = None):
        self.batch: tuple | None = None
        retain, forget = (iter(lambda k=k: self.batch[k], None) for k in (0, 1))
        self.unlearner = Unlearner(model, Method("ngdiff"), retain, forget, lr=LR, autolr=autolr)

    def step(self, t, batch_r, batch_f) -> dict:
        self.batch = (batch_r, batch_f)
        return self.unlearner.step(t)


def variants(model) -> dict:
    return {
        "GDiff (one backward)": GDiffOneBackward(copy.deepcopy(model)),
        "GDiff (accumulated)": GDiffAccumulated(copy.deepcopy(model)),
        "NGDiff": EngineStep(copy.deepcopy(model)),
        "NGDiff+AutoLR(k=10)": EngineStep(copy.deepcopy(model), AutoLR.plain(10)),
    }


def peak_step_bytes(stepper, batch_r, batch_f, device: torch.device) -> int:
    """Peak bytes allocated during one step beyond what was live before it."""
    if device.type == "cuda":
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        stepper.step(WINDOW - 1, batch_r, batch_f)  # an AutoLR step where AutoLR is on
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() - base
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        stepper.step(WINDOW - 1, batch_r, batch_f)
    events = sorted(
        (e.start_ns(), e.nbytes())
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU
    )
    live = peak = 0
    for _, change in events:
        live += change
        peak = max(peak, live)
    return peak


def measure(name: str, repeats: int, device: torch.device, bench, batch_size: int):
    tok = models.train_tokenizer(models.benchmark_corpus(bench), 2048)
    with torch.device(device):  # random weights drawn where they live: 1.4 B of them at most
        model = CONFIGS[name](tok).eval()
    if name in PAPER_PRECISION:
        if device.type != "cuda":
            raise SystemExit(f"{name} runs under bfloat16 autocast: use --device cuda")
        runtime.checkpoint_layers(runtime.gradient_checkpointing(model))
        runtime.autocast_forward(model, torch.bfloat16)
    n_params = sum(p.numel() for p in model.parameters())
    grad_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    streams = [
        BatchStream(encode_records(tok, split), batch_size, tok.pad_token_id, seed, device)
        for seed, split in ((1, bench.retain), (2, bench.forget))
    ]
    batches = [(next(streams[0]), next(streams[1])) for _ in range(WINDOW)]
    tokens = sum(int(b.attention_mask.sum()) for pair in batches for b in pair) / WINDOW
    steppers = variants(model)
    for stepper in steppers.values():  # warm-up
        stepper.step(0, *batches[0])

    times = {k: [] for k in steppers}
    for rep in range(repeats):
        names = list(steppers)
        for k in names[rep % len(names) :] + names[: rep % len(names)]:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            for t, (br, bf) in enumerate(batches):
                steppers[k].step(t, br, bf)
            if device.type == "cuda":
                torch.cuda.synchronize()
            times[k].append((time.perf_counter() - start) / WINDOW)

    peaks = {k: peak_step_bytes(s, *batches[-1], device) for k, s in steppers.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    rows = []
    for k in steppers:
        rows.append(
            {
                "config": name,
                "parameters": n_params,
                "variant": k,
                "ms_per_step": 1000 * median[k],
                "tokens_per_s": tokens / median[k],
                "ratio_to_gdiff": median[k] / median["GDiff (one backward)"],
                "ratio_to_ngdiff": median[k] / median["NGDiff"],
                "peak_step_mb": peaks[k] / 2**20,
                "extra_vs_gdiff_one_backward": (peaks[k] - peaks["GDiff (one backward)"])
                / grad_bytes,
                "extra_vs_gdiff_accumulated": (peaks[k] - peaks["GDiff (accumulated)"])
                / grad_bytes,
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=["tiny", "gpt2-26m"])
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    device = torch.device(args.device)
    bench = data.generate_authors()
    rows = []
    for name in args.configs:
        rows += measure(name, args.repeats, device, bench, args.batch_size)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else device
    print(
        f"device: {where}, torch {torch.__version__}, threads: {torch.get_num_threads()}, "
        f"batch size {args.batch_size} (retain) + {args.batch_size} (forget), "
        f"median of {args.repeats}"
    )
    print(
        "time ratios to GDiff (one backward) and to NGDiff; peak memory of a step beyond what "
        "was live before it, and its difference to each GDiff in gradient-sized buffers"
    )
    print(
        f"{'config':9s} {'params':>13s} {'variant':21s} {'ms/step':>8s} {'tok/s':>8s} "
        f"{'/GDiff':>7s} {'/NGDiff':>7s} {'peak MB':>8s} {'vs 1-bwd':>9s} {'vs accum':>9s}"
    )
    for r in rows:
        print(
            f"{r['config']:9s} {r['parameters']:13,d} {r['variant']:21s} "
            f"{r['ms_per_step']:8.1f} {r['tokens_per_s']:8.0f} {r['ratio_to_gdiff']:7.3f} "
            f"{r['ratio_to_ngdiff']:7.3f} "
            f"{r['peak_step_mb']:8.1f} {r['extra_vs_gdiff_one_backward']:+9.2f} "
            f"{r['extra_vs_gdiff_accumulated']:+9.2f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
