"""The engine's headline numbers (issue 3): NGDiff + AutoLR against vanilla GDiff.

Default benchmark and target (seed 0); SGD as in Algorithm 1; 40 steps of batch 16,
about 15 epochs over F as in the paper's Appendix F.3; three unlearning seeds. GDiff
(c = 0.5) runs at the learning rate AutoLR starts from.

    python benchmarks/engine_check.py [--lrs 0.03 0.3] [--seeds 0 1 2]
"""

import argparse

from nbutils.core import data, targets
from nbutils.engine.autolr import AutoLR
from nbutils.engine.lm import unlearn_lm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lrs", type=float, nargs="+", default=[0.03, 0.3])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    bench = data.generate_authors()
    target = targets.train_target(bench, progress=False)
    print(
        f"{'method':16s} {'lr0':>6s} {'seed':>4s} {'ROUGE_F':>8s} {'ROUGE_R':>8s} {'final lr':>9s}"
    )
    for lr in args.lrs:
        for name, autolr in (("NGDiff+AutoLR", AutoLR.plain()), ("GDiff-0.5", None)):
            for seed in args.seeds:
                run = unlearn_lm(
                    target.model,
                    target.tokenizer,
                    bench,
                    name.replace("+AutoLR", ""),
                    steps=args.steps,
                    lr=lr,
                    autolr=autolr,
                    eval_every=None,
                    eval_retain=None,
                    seed=seed,
                    progress=False,
                )
                final = run.final
                print(
                    f"{name:16s} {lr:6.3g} {seed:4d} {final['rouge_forget']:8.3f} "
                    f"{final['rouge_retain']:8.3f} {run.history.lr.dropna().iloc[-1]:9.3g}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
