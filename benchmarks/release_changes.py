"""Two releases of the same code on two machines, side by side: which tuned rates and
which verdicts (per draw and pooled) differ. Both releases are judged by the checkout's
rules (``pooling.build``), so a difference is the runs', not the rules'.

    python benchmarks/release_changes.py OLD_REV [NEW_FIGURES]

OLD_REV: a commit whose figures/ hold a release (its tuned rates, draw 0's sidecars,
figures/draws/); NEW_FIGURES: default figures/.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import tarfile
import tempfile
from collections import Counter
from pathlib import Path

from nbutils.core import paths
from nbutils.reproduce import catalog
from nbutils.reproduce.scorecard import pooling, report

DRAWS = [0, 1, 2]


def extract(rev: str, into: Path) -> Path:
    """``rev``'s figures/ written under ``into``."""
    archive = subprocess.run(["git", "archive", rev, "figures"], cwd=paths.REPO_DIR,
                             capture_output=True, check=True).stdout  # fmt: skip
    tarfile.open(fileobj=io.BytesIO(archive)).extractall(into, filter="data")
    return into / "figures"


def judged(folder: Path) -> dict[str, dict]:
    """Every claim's scorecard row (draws and pooled) from a release folder, by the
    checkout's rules."""
    stems, failed = list(catalog.NOTEBOOKS), {}
    per_draw = []
    for draw in DRAWS:
        failed[draw] = {}
        per_draw.append(pooling.collect(draw, pooling.draw_dir(draw, folder), stems, failed[draw]))
    per_draw, _ = pooling.pool_one_commit(per_draw, failed)
    ids = [c["id"] for c in json.loads((folder / "scorecard.json").read_text())["claims"]]
    rows = pooling.build(per_draw, ids, DRAWS, failed)
    return {r["id"]: r for r in rows}


def rates(folder: Path) -> tuple[dict[str, tuple[str, float]], str]:
    """The release's tuned rates (key -> (name, lr)) and the CPU that tuned them."""
    table = json.loads((folder / "tuned_rates.json").read_text())
    named = {key: (e["name"], e["lr"]) for key, e in table["entries"].items()}
    return named, table["provenance"]["cpu"]


verdict = report.cell_verdict


def text(cell: dict) -> str:
    """The scorecard's cell text without its note."""
    return report.cell_text({**cell, "note": ""})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old_rev")
    parser.add_argument("new_figures", nargs="?", default=str(paths.REPO_DIR / "figures"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old_folder = extract(args.old_rev, Path(tmp))
        old, (old_rates, old_cpu) = judged(old_folder), rates(old_folder)
    new, (new_rates, new_cpu) = judged(Path(args.new_figures)), rates(Path(args.new_figures))
    print(f"old: {args.old_rev[:7]} on {old_cpu}; new: {args.new_figures} on {new_cpu}\n")

    same = [k for k in new_rates if old_rates.get(k) == new_rates[k]]
    print(f"tuned rates: {len(same)} of {len(new_rates)} the same "
          f"({len(set(new_rates) - set(old_rates))} keys only in the new table)")  # fmt: skip
    for key in sorted(set(new_rates) & set(old_rates), key=lambda k: new_rates[k][0]):
        if old_rates[key] != new_rates[key]:
            print(f"  {new_rates[key][0]}: {old_rates[key][1]:g} -> {new_rates[key][1]:g}")

    evidence = [i for i in new if new[i]["kind"] == "evidence" and i in old]
    for scope in [*DRAWS, "pooled"]:
        pairs = Counter()
        for i in evidence:
            a = old[i]["pooled"] if scope == "pooled" else old[i]["draws"][scope]
            b = new[i]["pooled"] if scope == "pooled" else new[i]["draws"][scope]
            pairs[(verdict(a), verdict(b))] += 1
        moved = {k: n for k, n in pairs.items() if k[0] != k[1]}
        flips = sum(n for (a, b), n in moved.items() if {a, b} == {"holds", "fails"})
        print(f"\n{'pooled' if scope == 'pooled' else f'draw {scope}'}: "
              f"{sum(moved.values())} of {len(evidence)} evidence verdicts differ, "
              f"{flips} between holds and fails; "
              + ", ".join(f"{a} -> {b}: {n}" for (a, b), n in sorted(moved.items())))  # fmt: skip
        if scope != "pooled":
            for i in evidence:
                a, b = old[i]["draws"][scope], new[i]["draws"][scope]
                if {verdict(a), verdict(b)} == {"holds", "fails"}:
                    print(f"  `{i}`: {text(a)} -> {text(b)}")

    decided = {"holds", "fails"}
    pair = {i: {verdict(old[i]["pooled"]), verdict(new[i]["pooled"])} for i in evidence}
    either = [i for i in evidence if pair[i] & decided]
    both = [i for i in either if pair[i] <= decided]
    same = sum(verdict(old[i]["pooled"]) == verdict(new[i]["pooled"]) for i in both)
    print(f"pooled, decided (holds or fails) on either release: {len(either)}; "
          f"on both: {len(both)}, {same} of them the same way")  # fmt: skip

    print("\n| claim | old pooled | new pooled |\n|---|---|---|")
    for i in evidence:
        if verdict(old[i]["pooled"]) != verdict(new[i]["pooled"]):
            print(f"| `{i}` | {text(old[i]['pooled'])} | {text(new[i]['pooled'])} |")


if __name__ == "__main__":
    main()
