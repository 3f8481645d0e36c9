"""Cost of ROUGE-L in a run's evaluations: rouge_score's scorer against nbutils.core.rouge.

The workload is what ten evaluations of a default-size run score: the 40-author
benchmark's first 40 forget and 100 retain answers (seed 0) as references, each scored
against a slightly perturbed prediction (a fifth of its words dropped, now and then the
answer of another author), new predictions at each evaluation. A second workload is
Verbmem's: 40 passages of about 100 words against perturbed continuations.

"before" is what metrics.rouge_l_recall did (one ``RougeScorer(["rougeL"],
use_stemmer=True)`` built once, its ``score`` per pair); "after" is metrics.rouge_l_recall
now, its caches emptied first (the first evaluation stems every word). Both are timed with
nltk already imported, alternately, and the median of the repeats is printed; the two
must give the same numbers.

    python benchmarks/rouge_cost.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from rouge_score import rouge_scorer

from nbutils.core import data, metrics, rouge

EVALUATIONS = 10
FORGET, RETAIN = 40, 100


def perturbed(answer: str, others: tuple[str, ...], rng: random.Random) -> str:
    """A greedy answer of a model part way through unlearning."""
    text = rng.choice(others) if rng.random() < 0.3 else answer
    return " ".join(w for w in text.split() if rng.random() > 0.2)


def evaluations(references: list[str], others: list[tuple[str, ...]], seed: int) -> list:
    rng = random.Random(seed)
    return [[perturbed(r, o, rng) for r, o in zip(references, others)] for _ in range(EVALUATIONS)]


def qa_workload() -> tuple[list[str], list[list[str]]]:
    bench = data.generate_authors(seed=0, n_authors=40)
    records = bench.forget[:FORGET] + bench.retain[:RETAIN]
    references = [r.answer for r in records]
    return references, evaluations(references, [r.perturbed_answers for r in records], seed=1)


def passage_workload() -> tuple[list[str], list[list[str]]]:
    bench = data.generate_authors(seed=0, n_authors=40)
    passages = bench.forget_passages + bench.retain_passages
    references = [" ".join(p.text.split()[:100]) for p in passages]
    others = [tuple(r for r in references if r != own)[:3] for own in references]
    return references, evaluations(references, others, seed=2)


def before(references: list[str], predictions: list[list[str]]) -> list[list[float]]:
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return [
        [scorer.score(target=r, prediction=p)["rougeL"].recall for r, p in zip(references, ps)]
        for ps in predictions
    ]


def after(references: list[str], predictions: list[list[str]]) -> list[list[float]]:
    rouge._token.cache_clear()
    rouge._reference.cache_clear()
    return [metrics.rouge_l_recall(references, ps) for ps in predictions]


def timed(score, references, predictions) -> tuple[float, list]:
    start = time.perf_counter()
    scores = score(references, predictions)
    return time.perf_counter() - start, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rouge.tokenize("imports nltk")
    for name, (references, predictions) in [
        (f"QA ({FORGET} + {RETAIN} answers x {EVALUATIONS})", qa_workload()),
        (f"Verbmem (40 passages x {EVALUATIONS})", passage_workload()),
    ]:
        seconds = {before: [], after: []}
        for repeat in range(args.repeats):
            order = (before, after) if repeat % 2 == 0 else (after, before)
            results = {}
            for score in order:
                elapsed, results[score] = timed(score, references, predictions)
                seconds[score].append(elapsed)
            assert results[before] == results[after], "the two gave different numbers"
        old, new = (statistics.median(seconds[s]) for s in (before, after))
        pairs = len(references) * EVALUATIONS
        print(
            f"{name}, {pairs} pairs: before {old:.3f} s, after {new:.3f} s, "
            f"speed-up {old / new:.1f}x (median of {args.repeats})"
        )


if __name__ == "__main__":
    main()
