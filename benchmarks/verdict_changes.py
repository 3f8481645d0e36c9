"""Draw 0's verdicts before and after issues 24-25, side by side, each change with its
reasons: classification (kind), threshold, quantity (the claim's words), interval (the
old runs judged by the new interval flip the old verdict), and runs (the same quantity,
new runs: rates from the table of tuned rates chosen by successive halving, new engine).

    python benchmarks/verdict_changes.py OLD_REV [NEW_FIGURES]

OLD_REV: the commit whose figures/ were the old release (its scorecard.json and draw 0's
sidecars are read with git show). NEW_FIGURES: default figures/.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
from pathlib import Path

import pandas as pd

from nbutils import claims, stats
from nbutils.core import paths
from nbutils.reproduce import catalog

RENAMED = {"ngdiff.fig7.forget_gradient_grows": "ngdiff.fig7.forget_gradient_gets_smaller_rate"}
# Claims whose measured quantity changed in substance (issue 25), and how
QUANTITY = {
    "ngdiff.fig1.no_single_c_balances.adam": "on the per-c tuned sweep, not one common rate",
    "ngdiff.fig1.ngdiff_beats_npo.adam": "utility only where a run forgets, not the ROUGE area",
    "ngdiff.table1.ngdiff_autolr_beats_gdiff05.adam": "utility only where a run forgets",
    "ngdiff.table1.ngdiff_autolr_beats_npo.adam": "utility only where a run forgets",
    "ngdiff.table3.autolr_lowers_verbmem.adam": "the worst method, not the mean of methods",
    "ngdiff.table3.autolr_raises_truth_ratio.adam": "the worst method, not the mean of methods",
    "ngdiff.fig4.ngdiff_keeps_retain_throughout.adam": "absolute ROUGE_R, not relative",
    "ngdiff.fig5.autolr_forgets.adam": "a diverged run a collapse, not dropped",
    "ngdiff.fig5.autolr_forgets.sgd": "a diverged run a collapse, not dropped",
    "ngdiff.fig7.forget_gradient_gets_smaller_rate": "the caption's words: ||g_F|| / ||g_R||",
    "ngdiff.table4.all_methods_forget_the_class": "a diverged run a collapse (FA 0), not FA 1",
    "ngdiff.table4.ngdiff_highest_retain_accuracy": "NGDiff + AutoLR, not the better variant",
}
PER_OPTIMIZER = ("ngdiff.fig1.", "ngdiff.table1.", "ngdiff.table3.", "ngdiff.fig4.")


def new_id(old: str) -> str:
    """An old id as the registry now names it (02's and 06's claims gained ``.adam``)."""
    if old in RENAMED:
        return RENAMED[old]
    return f"{old}.adam" if old.startswith(PER_OPTIMIZER) and not old.endswith(".sgd") else old


def git_json(rev: str, path: str) -> dict | None:
    shown = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=paths.REPO_DIR,
                           capture_output=True, text=True)  # fmt: skip
    return json.loads(shown.stdout) if shown.returncode == 0 else None


def old_runs(rev: str) -> pd.DataFrame:
    """Every run's value of draw 0 in the old sidecars, under the new ids."""
    parts = []
    for entry in catalog.NOTEBOOKS.values():
        for figure in entry.figures:
            sidecar = git_json(rev, f"figures/{figure}.json") or {}
            for old, claim in sidecar.get("claims", {}).items():
                if isinstance(claim, dict) and "runs" in claim and new_id(old) in claims.REGISTRY:
                    table = pd.DataFrame(claim["runs"]).assign(claim=new_id(old), draw=0)
                    parts.append(table)
    table = pd.concat(parts, ignore_index=True)
    for column in ("value", "reference"):
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def cell(entry: dict | None) -> str:
    if not entry or "verdict" not in entry:
        return "-"
    value = entry.get("value")
    value = f"{value:.3g}" if isinstance(value, (int, float)) and math.isfinite(value) else "n/a"
    return f"{value} {entry['verdict']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("old_rev")
    parser.add_argument("new_figures", nargs="?", default=str(paths.REPO_DIR / "figures"))
    args = parser.parse_args()
    old_card = git_json(args.old_rev, "figures/scorecard.json")
    new_card = json.loads((Path(args.new_figures) / "scorecard.json").read_text())
    old = {new_id(c["id"]): c for c in old_card["claims"]}
    runs = old_runs(args.old_rev)
    rows, changed = [], 0
    for c in new_card["claims"]:
        before, spec = old.get(c["id"]), claims.claim(c["id"])
        now = c["draws"].get("0") or c["draws"].get(0)
        reasons = []
        if before is None:
            reasons.append("new claim")
        else:
            if before["kind"] != spec.kind:
                reasons.append(f"classification ({before['kind']} -> {spec.kind})")
            if (before["threshold"], before["direction"]) != (spec.threshold, spec.direction):
                reasons.append(
                    f"threshold ({claims.threshold_text(before['direction'], before['threshold'])}"
                    f" -> {claims.threshold_text(spec.direction, spec.threshold)})"
                )
            if c["id"] in QUANTITY:
                reasons.append(f"quantity ({QUANTITY[c['id']]})")
            mine = runs[runs["claim"] == c["id"]]
            if len(mine) and c["id"] not in QUANTITY:
                judged = claims.evaluate(mine).iloc[0]
                by_old = stats.verdict(
                    judged["low"], judged["high"], before["threshold"], before["direction"]
                )
                old_verdict = (before["draws"].get("0") or {}).get("verdict")
                if by_old != old_verdict:
                    reasons.append(f"interval (the old runs: {by_old})")
                if judged["verdict"] != by_old:
                    reasons.append(f"threshold on the old runs: {judged['verdict']}")
                if now and now.get("verdict") != judged["verdict"]:
                    reasons.append("runs (this release's)")
        old_cell = cell((before or {}).get("draws", {}).get("0"))
        if before is None or old_cell.split()[-1:] != cell(now).split()[-1:]:
            changed += 1
        rows.append((c["id"], old_cell, cell(now), "; ".join(reasons) or "-"))
    print(f"{changed} of {len(rows)} draw-0 verdicts differ from {args.old_rev[:7]}'s")
    print("| claim | before | after | why it moved |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
