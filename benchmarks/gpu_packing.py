"""Runs per hour when several small runs share one GPU as Ray tasks (issue 26): the tiny
model at 1, 4 and 8 runs per GPU, the Phi-1.5-sized random model (``phi_offline.py``)
at 1 and 2, with the GPU's peak memory in use (nvidia-smi, sampled).

A local Ray cluster with the machine's GPU starts; each setting sends ``--runs`` runs
(NGDiff, Adam, the tuning protocol: 40 steps of batch 16 + 16 for the tiny model, the
paper's batch 32 + 32 with bf16 autocast and checkpointing for Phi) as tasks asking for
1/k of the GPU (``NBUTILS_RUNS_PER_GPU``). Without CUDA it runs on the CPU with k CPUs
instead, which only checks the script.

    python benchmarks/gpu_packing.py --model tiny --per-gpu 1 4 8 --runs 16
    python benchmarks/gpu_packing.py --model /tmp/phi-1.5-random --dataset tests/fixtures/tofu \
        --per-gpu 1 2 --runs 4
"""

from __future__ import annotations

import argparse
import os
import subprocess
import threading
import time

import ray
import torch

import nbutils as nbu
from nbutils.engine import executor, ray_tasks, runs
from nbutils.reproduce.cli import declared_defaults


def gpu_memory_mb() -> float:
    """Memory in use on the first GPU (0 without nvidia-smi)."""
    query = ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"]
    try:
        out = subprocess.run(query, capture_output=True, text=True)
    except FileNotFoundError:
        return 0.0
    return float(out.stdout.split()[0]) if out.returncode == 0 and out.stdout.strip() else 0.0


class PeakSampler(threading.Thread):
    """The largest GPU memory in use while the ``with`` block runs (every 0.5 s)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.done = 0.0, threading.Event()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, gpu_memory_mb())
            time.sleep(0.5)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--dataset", default="authors")
    parser.add_argument("--per-gpu", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--runs", type=int, default=16)
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    paper = args.model != "tiny"
    values = {
        **declared_defaults("06_method_comparison"),
        "out_dir": "/tmp/gpu-packing",
        "model": args.model,
        "dataset": args.dataset,
        "scale": "paper" if paper else "default",
        "device": "cuda" if cuda else "cpu",
    }
    session = nbu.setup("06_method_comparison", **values)
    bench = nbu.presets.benchmark(session)
    target = nbu.presets.target(session, bench)
    protocol = nbu.presets.optimizer_protocol(session, "adam")
    config = runs.Config("NGDiff", "NGDiff", protocol.lr_grid[len(protocol.lr_grid) // 2])
    jobs = [runs.lm_job(target, bench, config, protocol, s, cache=False) for s in range(args.runs)]
    print(
        f"model {args.model}; {args.runs} runs of {protocol.steps} steps; "
        f"{torch.cuda.get_device_name(0) if cuda else 'CPU only: checks the script'}"
    )
    print("| runs per GPU | wall (s) | runs per hour | peak GPU memory in use (MB) |")
    print("|---:|---:|---:|---:|")
    for k in args.per_gpu:
        os.environ[ray_tasks.RUNS_PER_GPU_VARIABLE] = str(k)
        ray.init(num_gpus=1 if cuda else 0, num_cpus=max(k, 1), include_dashboard=False,
                 log_to_driver=False)  # fmt: skip
        with PeakSampler() as sampler:
            start = time.perf_counter()
            executor.execute(jobs, where="ray", progress=False)
            wall = time.perf_counter() - start
        ray.shutdown()
        print(f"| {k} | {wall:.0f} | {3600 * args.runs / wall:.0f} | {sampler.peak:.0f} |")


if __name__ == "__main__":
    main()
