"""Where one default-size NGDiff step spends its time: torch.profiler over a window of
steps of the engine's own step (``step_cost.EngineStep``) at one torch thread, as the
executor computes every run; the operators by their own (self) CPU time.

    python benchmarks/step_profile.py [--steps 20] [--top 12]
"""

from __future__ import annotations

import argparse

import torch
from step_cost import CONFIGS, EngineStep
from torch.profiler import ProfilerActivity, profile

from nbutils.core import data, models
from nbutils.core.batches import BatchStream, encode_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    torch.set_num_threads(1)
    bench = data.generate_authors()
    tok = models.train_tokenizer(models.benchmark_corpus(bench), 2048)
    stepper = EngineStep(CONFIGS["tiny"](tok).eval())
    streams = [
        BatchStream(encode_records(tok, split), args.batch_size, tok.pad_token_id, seed, "cpu")
        for seed, split in ((1, bench.retain), (2, bench.forget))
    ]
    batches = [(next(streams[0]), next(streams[1])) for _ in range(args.steps)]
    for t, pair in enumerate(batches[:5]):  # warm-up
        stepper.step(t, *pair)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for t, pair in enumerate(batches):
            stepper.step(t, *pair)
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    print(f"torch {torch.__version__}, 1 thread, NGDiff, batch {args.batch_size} + "
          f"{args.batch_size}: {total / 1e3 / args.steps:.1f} ms a step (profiled)")  # fmt: skip
    print(f"{'operator':40s} {'self ms/step':>12s} {'share':>6s} {'calls/step':>10s}")
    for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[: args.top]:
        print(f"{e.key[:40]:40s} {e.self_cpu_time_total / 1e3 / args.steps:12.2f} "
              f"{e.self_cpu_time_total / total:6.1%} {e.count / args.steps:10.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
