"""Notebook 01's registry claims, measured (``measure_*``; ``CLAIMS_BY_FIGURE`` says
which figure shows which): NGDiff in Fig. 2's green region per 2-D panel; the Eq. 7
shares of NGDiff (Lemma 4), IMTL-G and canonical PCGrad, identities by Cauchy-Schwarz;
GDiff-0.5 leaving Eq. 7 on real steps (Sec. 3.2); Theorem 5 (1) and (2) per NGDiff run.
Each claim's kind (evidence or sanity) is the registry's (``nbutils.claims``).
"""

from __future__ import annotations

import pandas as pd

from ... import claims
from .theorem5 import eta_name

FIG2_IN_GREEN = "ngdiff.sec3_2.fig2_ngdiff_in_green"
LEMMA4 = "ngdiff.lemma4.ngdiff_in_eq7_region"
IMTLG_IDENTITY = "ngdiff.lemma4.imtlg_in_eq7_region"
PCGRAD_IDENTITY = "ngdiff.sec3_2.pcgrad_canonical_in_eq7_region"
GDIFF_LEAVES = "ngdiff.sec3_2.gdiff_leaves_eq7_on_real_steps"
THM5_PART1 = "ngdiff.thm5.part1_small_step_improves_both"
THM5_PART2 = "ngdiff.thm5.part2_curvature_positive"
# Rules for which Eq. 7 is an identity (Cauchy-Schwarz): their shares are sanity claims.
IDENTITIES = {"NGDiff": LEMMA4, "IMTL-G": IMTLG_IDENTITY, "PCGrad": PCGRAD_IDENTITY}
CLAIMS_BY_FIGURE = {
    "fig2_geometry": (FIG2_IN_GREEN,),
    "fig2_sign_checks": (GDIFF_LEAVES, LEMMA4, IMTLG_IDENTITY, PCGRAD_IDENTITY),
    "thm5_check": (THM5_PART1, THM5_PART2),
}
THM5_ETA = 1e-3  # part (1)'s "small enough" step


def measure_fig2_panels(panels: pd.DataFrame, draw: int, method: str = "NGDiff") -> pd.DataFrame:
    """Fig. 2's caption, per 2-D panel (``fig2_grid``'s table): 1 when ``method``'s
    direction is in Eq. 7's region, else 0; column ``unit`` names the panel."""
    rows = panels[panels["method"] == method]
    out = claims.measurement(
        FIG2_IN_GREEN, draw, rows["in_green"].astype(float), seeds=[draw] * len(rows)
    )
    out["unit"] = [f"angle {a:g}, ratio {r:g}" for a, r in zip(rows["angle"], rows["ratio"])]
    return out


def measure_identity(
    method: str,
    draw: int,
    random_checks: pd.DataFrame | None = None,
    adversarial: pd.DataFrame | None = None,
    real: pd.DataFrame | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The Eq. 7 identity of ``method`` (one of ``IDENTITIES``): one row per unit, the
    share of its cases where Eq. 7 holds: all random pairs (``random_sign_checks``),
    all adversarial pairs (``adversarial_sign_checks``; a rule that raised has no
    case) and each real run (``history_sign_checks`` with ``label`` and ``seed``).
    Column ``unit`` says which; random and adversarial units carry ``seed``."""
    parts = []
    for unit, table in (("random pairs", random_checks), ("adversarial pairs", adversarial)):
        if table is None:
            continue
        mine = table[table["method"] == method].dropna(subset=["holds"])
        if len(mine):
            rows = claims.measurement(
                IDENTITIES[method], draw, [mine["holds"].astype(float).mean()], seeds=[seed]
            )
            parts.append(rows.assign(unit=unit))
    if real is not None and len(real[real["label"] == method]):
        share = real[real["label"] == method].groupby("seed")["holds"].mean()
        rows = claims.measurement(
            IDENTITIES[method], draw, share.to_numpy(), seeds=share.index.tolist()
        )
        parts.append(rows.assign(unit="real run"))
    return pd.concat(parts, ignore_index=True)


def measure_gdiff_leaves(real: pd.DataFrame, draw: int, label: str = "GDiff-0.5") -> pd.DataFrame:
    """Sec. 3.2's "a static scalarization can leave Eq. 7", on real steps: per run of
    ``label`` (``history_sign_checks`` rows with ``label`` and ``seed``), the share of
    its steps outside Eq. 7 (a diverged run counts the steps it took); column ``unit``
    as ``measure_identity``'s."""
    rows = real[real["label"] == label]
    outside = 1.0 - rows.groupby("seed")["holds"].mean()
    out = claims.measurement(GDIFF_LEAVES, draw, outside.to_numpy(), seeds=outside.index.tolist())
    return out.assign(unit="real run")


def measure_theorem5(walks: pd.DataFrame, draw: int, eta: float = THM5_ETA) -> pd.DataFrame:
    """Theorem 5 per NGDiff run (``theorem5_visit`` rows with ``seed``): part (1), the
    share of steps where L_R falls and L_F rises along -eta d; part (2), the share of
    steps where the exact d^T H_R d and d^T H_F d are both positive."""
    name = eta_name(eta)
    steps = walks.dropna(subset=[f"change_retain_{name}", "curvature_retain"])
    both = (steps[f"change_retain_{name}"] < 0) & (steps[f"change_forget_{name}"] > 0)
    convex = (steps["curvature_retain"] > 0) & (steps["curvature_forget"] > 0)
    part1 = both.groupby(steps["seed"]).mean()
    part2 = convex.groupby(steps["seed"]).mean()
    return pd.concat(
        [
            claims.measurement(THM5_PART1, draw, part1.to_numpy(), seeds=part1.index.tolist()),
            claims.measurement(THM5_PART2, draw, part2.to_numpy(), seeds=part2.index.tolist()),
        ],
        ignore_index=True,
    )
