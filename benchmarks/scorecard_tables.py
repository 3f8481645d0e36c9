"""The measured tables of ``benchmarks/README.md`` that a ``make figures`` run leaves
behind: each notebook's wall time and peak memory per draw (from the sidecars'
provenance), the verdicts of notebook 06 on every benchmark draw (from the scorecard),
and DualOptim's Std table under the official protocol on every draw (from notebook 07's
``momentum_lm`` sidecar). It reads files only; nothing is run.

    python benchmarks/scorecard_tables.py [--figures figures]

Draw 0's sidecars are read from the figures folder, the other draws' from
``figures/draws/draw-<seed>/`` (``scorecard.draw_dir``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nbutils.reproduce import catalog, scorecard  # noqa: E402


def draw_folders(figures: Path, draws: list[int]) -> dict[int, Path]:
    return {d: scorecard.draw_dir(d, figures) for d in draws}


def sidecar(folder: Path, name: str) -> dict | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def cost_table(folders: dict[int, Path]) -> str:
    """Per notebook and draw: wall time (s) and the kernel's peak RSS (MB), the largest
    over the notebook's sidecars (each records its notebook's session so far)."""
    lines = [
        "| notebook | " + " | ".join(f"draw {d}: wall s, peak MB" for d in folders) + " |",
        "|---|" + "---:|" * len(folders),
    ]
    for stem, entry in catalog.NOTEBOOKS.items():
        cells = []
        for folder in folders.values():
            cars = [  # sidecars written before peak memory was recorded are too old to count
                c
                for c in (sidecar(folder, n) for n in entry.figures)
                if c and "peak_rss_mb" in c["provenance"]
            ]
            if not cars:
                cells.append("-")
                continue
            wall = max(c["provenance"]["wall_time_s"] for c in cars)
            peak = max(c["provenance"].get("peak_rss_mb") or 0 for c in cars)
            cells.append(f"{wall:.0f}, {peak:.0f}")
        lines.append(f"| {stem} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict_table(card: dict, notebook: str) -> str:
    """The scorecard's table (``scorecard.markdown``) restricted to one notebook's claims."""
    rows = [
        {**row, "draws": {int(d): cell for d, cell in row["draws"].items()}}
        for row in card["claims"]
        if row["notebook"] == notebook
    ]
    return scorecard.markdown(rows, card["draws"], card.get("plan"))


def std_table(folders: dict[int, Path]) -> str:
    """DualOptim's Std (np.std over seeds, ddof 0) per draw, schedule and scheme."""
    lines = [
        "| draw | schedule | scheme | forget lr | ROUGE_F mean (std) | ROUGE_R mean (std) "
        "| diverged / runs |",
        "|---:|---|---|---:|---|---|---|",
    ]
    for draw, folder in folders.items():
        car = sidecar(folder, "momentum_lm")
        if car is None or not car["data"].get("std"):
            lines.append(f"| {draw} | - | no momentum_lm sidecar | | | | |")
            continue
        for r in pd.DataFrame(car["data"]["std"]).itertuples():
            lines.append(
                f"| {draw} | {r.schedule} | {r.scheme} | {r.forget_lr:g} | "
                f"{r.rouge_forget_mean:.3f} ({r.rouge_forget_std:.3f}) | "
                f"{r.rouge_retain_mean:.3f} ({r.rouge_retain_std:.3f}) | "
                f"{r.diverged} / {r.runs} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--figures", default=str(REPO / "figures"))
    args = parser.parse_args(argv)
    figures = Path(args.figures)
    card = json.loads((figures / "scorecard.json").read_text())
    folders = draw_folders(figures, card["draws"])
    print(
        f"scorecard provenance: {json.dumps(card['provenance']['machine'])}, "
        f"jobs {card['provenance']['jobs']}, wall {card['provenance']['wall_time_s']} s\n"
    )
    print("## Cost per notebook\n\n" + cost_table(folders) + "\n")
    print("## Notebook 06 on every draw\n\n" + verdict_table(card, "06_method_comparison") + "\n")
    print("## DualOptim's Std, official protocol\n\n" + std_table(folders))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
