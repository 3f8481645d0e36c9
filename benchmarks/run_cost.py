"""What one default-size unlearning run costs, method by optimizer: its steps, one
evaluation, and the two protocols the notebooks use (issue 24's per-run cost table).

Every number is measured at one torch thread (as the executor computes every run) on the
draw-0 target; run it with nothing else on the machine. A run of the tuning protocol is
40 steps and one evaluation after the last (ROUGE on F and 100 R questions, split
losses); a run of the comparison protocol (notebooks 02 and 06) adds 8 evaluations
during the run and Truth Ratio at the final one.

    python benchmarks/run_cost.py [--methods NGDiff GDiff-0.5 ...] [--repeats 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import nbutils as nbu
from nbutils.core import metrics
from nbutils.engine import lm
from nbutils.engine.autolr import AutoLR
from nbutils.reproduce.cli import declared_defaults

METHODS = ("GDiff-0.5", "LossNorm", "NGDiff", "NPO", "NGDiff+AutoLR")


def evaluation_seconds(target, bench, protocol, truth_ratio: bool, repeats: int) -> float:
    """Median seconds of one evaluation of ``target`` as the protocol scores a run."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        metrics.evaluate(
            target.model,
            target.tokenizer,
            bench,
            retain_limit=protocol.eval_retain,
            truth_ratios=truth_ratio,
            truth_ratio_values=truth_ratio,
            max_new_tokens=protocol.max_new_tokens,
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--methods", nargs="+", default=list(METHODS))
    parser.add_argument("--repeats", type=int, default=2, help="median over this many")
    args = parser.parse_args()
    values = {**declared_defaults("06_method_comparison"), "out_dir": "/tmp/run-cost"}
    session = nbu.setup("06_method_comparison", **values)  # one torch thread, as every run
    bench = nbu.presets.benchmark(session)
    target = nbu.presets.target(session, bench)
    print(f"torch threads {torch.get_num_threads()}; {nbu.core.runtime.machine()['cpu']}")
    print(
        "| method | optimizer | 40 steps (s) | one evaluation (s) | tuning run (s) | "
        "comparison run, 9 evaluations (s) |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for optimizer in ("adam", "sgd"):
        protocol = nbu.presets.optimizer_protocol(session, optimizer)
        lr = protocol.lr_grid[len(protocol.lr_grid) // 2]
        evaluation = evaluation_seconds(target, bench, protocol, False, args.repeats)
        final_tr = evaluation_seconds(target, bench, protocol, True, args.repeats)
        for name in args.methods:
            method, autolr = (
                (name.removesuffix("+AutoLR"), AutoLR.plain())
                if name.endswith("+AutoLR")
                else (name, None)
            )
            steps = statistics.median(
                lm.unlearn_lm(
                    target.model,
                    target.tokenizer,
                    bench,
                    method,
                    steps=protocol.steps,
                    lr=lr,
                    optimizer=optimizer,
                    autolr=autolr,
                    batch_size=protocol.batch_size,
                    seed=7,
                    evaluate=False,
                    progress=False,
                ).seconds
                for _ in range(args.repeats)
            )
            print(
                f"| {name} | {optimizer} | {steps:.2f} | {evaluation:.2f} | "
                f"{steps + evaluation:.2f} | {steps + 8 * evaluation + final_tr:.2f} |"
            )


if __name__ == "__main__":
    main()
