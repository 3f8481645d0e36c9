"""Notebook 07's claims measured (``claims.measurement``) and the tables they read.

The theorem (Recipe 2): exactly, one value per setting of ``theorem.theorem_grid``, and by
simulation, theta_r's spread under decoupled vs shared momentum. Recipe 1: the forget
gradients' norms over the retain ones. The slides' stability: the spread over seeds of
DualOptim's and DualOptim+'s final ROUGE_R against Alternate's under the official
protocol (``std_table``: the slides' "Std").
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ... import claims
from ...engine.optim import LABELS
from .official_protocol import OfficialResults
from .quadratics import Quadratics, replicate

THEOREM_CLAIM = "dualoptim.theorem.decoupled_variance_le_shared"
SIMULATED_CLAIM = "dualoptim.theorem.simulated_variance_default"


def measure_theorem(table: pd.DataFrame, draw: int) -> pd.DataFrame:
    """The theorem's claim: one value per distinct setting of a ``theorem_grid`` (its
    ``holds``, 1 or 0; the setting's index as its seed)."""
    return claims.measurement(THEOREM_CLAIM, draw, table["holds"], seeds=range(len(table)))


def measure_simulated(problem: Quadratics, *, seed: int, draw: int, **options) -> pd.DataFrame:
    """The theorem by simulation at one setting: per replica, theta_r at the last t under
    decoupled momentum (value) and under shared momentum (reference; independent
    replicas, the draws of ``theorem.compare``), for the std ratio. ``options``:
    ``quadratics.replicate``'s momentum, lr, steps, replicas."""
    decoupled = replicate(problem, "decoupled", seed=2 * seed + 1, **options)[1]
    shared = replicate(problem, "shared", seed=2 * seed, **options)[1]
    return claims.measurement(SIMULATED_CLAIM, draw, decoupled, references=shared)


STABILITY_SCHEMES = {"dualoptim": "dualoptim", "dualoptim+": "dualoptim_plus"}  # -> claim id
REGISTERED_SCHEDULES = {"1:5": "1to5", "1:1": "1to1"}
RECIPE1_CLAIM = "dualoptim.recipe1.forget_gradients_larger"


def stability_claim(scheme: str, schedule: str) -> str | None:
    """The registry id of ``scheme``'s stability verdict at ``schedule`` (None when the
    registry has none: Alternate itself, or a schedule other than 1:5 and 1:1)."""
    if scheme not in STABILITY_SCHEMES or schedule not in REGISTERED_SCHEDULES:
        return None
    return (
        f"dualoptim.slides.{STABILITY_SCHEMES[scheme]}_more_stable.{REGISTERED_SCHEDULES[schedule]}"
    )


def final_rouge_retain(finals: pd.DataFrame) -> pd.Series:
    """Final ROUGE_R per run; a diverged run counts 0 (a destroyed model)."""
    value = finals["rouge_retain"] if "rouge_retain" in finals else pd.Series(np.nan, finals.index)
    return value.where(finals["diverged_at"].isna(), 0.0).astype(float)


def measure_stability(finals: pd.DataFrame, draw: int) -> pd.DataFrame:
    """The stability verdicts (one per scheme and registered schedule): per seed the
    scheme's final ROUGE_R (value) and Alternate's at the same seed and schedule
    (reference); a diverged run counts 0 (``final_rouge_retain``). Claim statistic:
    np.std over seeds (ddof 0) of the values over that of the references."""
    table = finals.assign(value=final_rouge_retain(finals))
    parts = []
    for schedule, part in table.groupby("schedule", sort=False):
        reference = part[part.scheme == "alternate"].set_index("seed")["value"]
        for scheme, own in part.groupby("scheme", sort=False):
            claim_id = stability_claim(scheme, schedule)
            if claim_id is None or reference.empty:
                continue
            own = own.set_index("seed")["value"]
            seeds = [s for s in own.index if s in reference.index]
            parts.append(
                claims.measurement(
                    claim_id, draw, own[seeds], seeds=seeds, references=reference[seeds]
                )
            )
    return pd.concat(parts, ignore_index=True) if parts else _empty()


def gradient_norm_ratios(runs) -> pd.DataFrame:
    """Per run (``label``, ``seed``): median ||grad L_f|| over median ||grad L_r|| across
    its forget and retain updates (norms before clipping; a diverged run: its updates
    before it diverged; NaN without an update of either task)."""
    rows = []
    for r in runs:
        steps = r.history[r.history["task"].notna()] if "task" in r.history else r.history
        by = steps.groupby("task").grad_norm.median() if len(steps) else pd.Series(dtype=float)
        ratio = by.get("forget", np.nan) / by.get("retain", np.nan)
        rows.append({"label": r.label, "seed": r.seed, "ratio": float(ratio)})
    return pd.DataFrame(rows, columns=["label", "seed", "ratio"])


def measure_recipe1(runs, draw: int) -> pd.DataFrame:
    """Recipe 1's gap, one value per run (``gradient_norm_ratios``) of the given runs
    (Alternate under the official protocol)."""
    table = gradient_norm_ratios(runs)
    return claims.measurement(RECIPE1_CLAIM, draw, table["ratio"], seeds=table["seed"])


def stability_ids(verdicts: pd.DataFrame) -> list[str]:
    """The stability claims among ``verdicts`` (those this run measured)."""
    return [i for i in verdicts["id"] if i.startswith("dualoptim.slides.")]


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=list(claims.MEASUREMENT_COLUMNS))


def stability_settings(results: OfficialResults, retain_lr: float) -> dict[str, str]:
    """Per stability claim measured: its setting in words (protocol, schedule, both
    schemes' tuned forget rates, the retain rate)."""
    out = {}
    for (scheme, schedule), tuning in results.tunings.items():
        claim_id = stability_claim(scheme, schedule)
        reference = results.tunings.get(("alternate", schedule))
        if claim_id is None or reference is None:
            continue
        out[claim_id] = (
            f"official protocol (Adam, clip 1.0, linear schedule, wd 0.01), "
            f"T_f:T_r = {schedule}, retain rate {retain_lr:g}; tuned forget rates: "
            f"{LABELS[scheme]} {tuning.lr:g}, Alternate {reference.lr:g}"
        )
    return out


def with_settings(verdicts: pd.DataFrame, settings: dict[str, str]) -> pd.DataFrame:
    """``verdicts`` whose ``setting`` names this run's setting where ``settings`` has one
    (the registry's setting otherwise)."""
    out = verdicts.copy()
    for claim_id, text in settings.items():
        out.loc[out["id"] == claim_id, "setting"] = text
    return out


def std_table(finals: pd.DataFrame) -> pd.DataFrame:
    """The slides' "Std" per scheme and schedule: mean and np.std over seeds (ddof 0, as
    DualOptim's parse_result.py) of the final ROUGE_F and ROUGE_R (a diverged run
    counts ROUGE_R 0 and is counted in ``diverged``), with the tuned forget rate."""
    table = finals.assign(rouge_retain=final_rouge_retain(finals))
    rows = []
    for (schedule, scheme), part in table.groupby(["schedule", "scheme"], sort=False):
        rows.append(
            {
                "schedule": schedule,
                "scheme": LABELS.get(scheme, scheme),
                "forget_lr": part["forget_lr"].iloc[0],
                "rouge_forget_mean": part["rouge_forget"].mean(),
                "rouge_forget_std": part["rouge_forget"].std(ddof=0),
                "rouge_retain_mean": part["rouge_retain"].mean(),
                "rouge_retain_std": part["rouge_retain"].std(ddof=0),
                "runs": len(part),
                "diverged": int(part["diverged_at"].notna().sum()),
            }
        )
    return pd.DataFrame(rows).set_index(["schedule", "scheme"])
