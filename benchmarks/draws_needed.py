"""How many benchmark draws each pooled evidence verdict of a scorecard would need, if the
draw means kept the mean and spread they show (``stats.draws_to_decide``): a plan for
choosing draws per claim, never evidence.

    python benchmarks/draws_needed.py [SCORECARD_JSON] [--up-to 30]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from nbutils import stats
from nbutils.core import paths

MEAN_OVER_DRAWS = "calibrated t"  # the pooled interval of a mean (``draw_means_interval``)


def plan(claim: dict, up_to: int = stats.CALIBRATED_UP_TO) -> tuple[int | None, str] | None:
    """``stats.draws_to_decide`` for a scorecard claim's pooled cell; None when the cell
    has no pooled interval of a mean to read a spread from."""
    cell = claim["pooled"]
    if not cell.get("interval", "").startswith(MEAN_OVER_DRAWS):
        return None
    return stats.draws_to_decide(
        cell["value"], cell["low"], cell["high"], cell["n_draws"],
        claim["threshold"], claim["direction"], up_to=up_to,
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("scorecard", nargs="?", default=paths.REPO_DIR / "figures/scorecard.json")
    parser.add_argument("--up-to", type=int, default=stats.CALIBRATED_UP_TO)
    args = parser.parse_args()
    card = json.loads(Path(args.scorecard).read_text())
    rows, tally = [], Counter()
    for claim in card["claims"]:
        cell = claim["pooled"]
        if claim["kind"] != "evidence":
            continue
        planned = plan(claim, args.up_to)
        if planned is None:
            tally["not a mean over draws with an interval (left out)"] += 1
            continue
        needed, decided = planned
        if needed is None:
            tally[f"not within {args.up_to} draws"] += 1
        elif needed == cell["n_draws"]:
            tally["decided now"] += 1
        else:
            tally["4 or 5 draws" if needed <= 5 else "6 to 10 draws" if needed <= 10
                  else f"11 to {args.up_to} draws"] += 1  # fmt: skip
        rows.append((claim["id"], claim["direction"], claim["threshold"], cell, needed, decided))
    print(f"{card['provenance']['git_commit'][:7]}: " + "; ".join(
        f"{k}: {n}" for k, n in sorted(tally.items())))  # fmt: skip
    print("| claim | threshold | pooled now | draws to decide | then |")
    print("|---|---|---|---:|---|")
    for cid, direction, threshold, cell, needed, decided in sorted(
        rows, key=lambda r: (r[4] is None, r[4] or 0)
    ):
        now = f"{cell['value']:.3g} [{cell['low']:.3g}, {cell['high']:.3g}] {cell['verdict']}"
        count = f"more than {args.up_to}" if needed is None else str(needed)
        print(f"| `{cid}` | {direction} {threshold:g} | {now} | {count} | {decided} |")


if __name__ == "__main__":
    main()
