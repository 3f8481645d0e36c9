"""How many rates successive halving chooses as the full grid does (issue 24): two tables
of tuned rates of the same requests, one by ``python -m nbutils tune`` (halving) and one
by ``tune --full`` (every rate on every held-out seed), compared entry by entry.

    python benchmarks/halving.py figures/tuned_rates.json /tmp/full_rates.json
"""

from __future__ import annotations

import argparse
import json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("halved")
    parser.add_argument("full")
    args = parser.parse_args()
    halved, full = (json.load(open(path))["entries"] for path in (args.halved, args.full))
    rows = []
    for key, entry in sorted(halved.items(), key=lambda kv: kv[1]["name"]):
        other = full.get(key)
        if other is None:
            continue
        rows.append((entry["name"], entry["lr"], other["lr"], len(entry["runs"]["lr"]),
                     len(other["runs"]["lr"])))  # fmt: skip
    agree = sum(a == b for _, a, b, _, _ in rows)
    runs_halved, runs_full = sum(r[3] for r in rows), sum(r[4] for r in rows)
    print(
        f"{agree} of {len(rows)} rates agree; tuning runs {runs_halved} (halving) against "
        f"{runs_full} (full grid), {1 - runs_halved / runs_full:.0%} fewer"
    )
    print("| rate of | halving | full grid | agree |")
    print("|---|---:|---:|---|")
    for name, a, b, _, _ in rows:
        print(f"| {name} | {a:g} | {b:g} | {'yes' if a == b else '**no**'} |")


if __name__ == "__main__":
    main()
