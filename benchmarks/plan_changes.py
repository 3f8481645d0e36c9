"""What the extra draws of a release changed: for every evidence claim of a notebook that
the scorecard ran on more than three draws (its ``plan``), the pooled verdict over the
release's first three draws (by the checkout's rules, ``pooling.build``) beside the
scorecard's pooled verdict over all of the notebook's draws. Same machine, same commit,
same rates: a difference is the draws'.

    python benchmarks/plan_changes.py [FIGURES]
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from release_changes import DRAWS, judged

from nbutils.core import paths
from nbutils.reproduce.scorecard import report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("figures", nargs="?", default=str(paths.REPO_DIR / "figures"))
    args = parser.parse_args()
    folder = Path(args.figures)
    card = json.loads((folder / "scorecard.json").read_text())
    more = [stem for stem, draws in card.get("plan", {}).items() if len(draws) > len(DRAWS)]
    rows = [r for r in card["claims"] if r["notebook"] in more and r["kind"] == "evidence"]
    first = {claim_id: row["pooled"] for claim_id, row in judged(folder).items()}
    moved = Counter()
    print("| claim | draws 0-2 | all its draws | draws |\n|---|---|---|---:|")
    for row in rows:
        a, b = first[row["id"]], row["pooled"]
        moved[(report.cell_verdict(a), report.cell_verdict(b))] += 1
        text = [report.cell_text({**cell, "note": ""}) for cell in (a, b)]
        print(f"| `{row['id']}` | {text[0]} | {text[1]} | {b.get('n_draws', '-')} |")
    print(f"\n{len(rows)} evidence claims of {', '.join(more)}: " + ", ".join(
        f"{a} -> {b}: {n}" for (a, b), n in sorted(moved.items())))  # fmt: skip


if __name__ == "__main__":
    main()
