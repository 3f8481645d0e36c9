"""Eq. 7 (Lemma 4) for every rule on adversarial float32 pairs (parallel, anti-parallel,
extreme norm ratios, zero gradients), through the engine's own ``directions.direction``
and ``directions.satisfies_eq7`` (``adversarial_sign_checks``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import torch

from ...engine import directions
from ...engine.gradients import Grads, dot
from ...engine.methods import method as method_spec
from .eq7 import CHECK_METHODS, TOL32


def _split(v: torch.Tensor) -> Grads:
    """A flat vector as tensors of several shapes, like a model's parameters."""
    n = v.numel()
    cuts = [0, n // 7, n // 3, (2 * n) // 3, n]
    pieces = [v[a:b] for a, b in zip(cuts[:-1], cuts[1:]) if b > a]
    return [p.reshape(-1, 1).clone() if i % 2 else p.clone() for i, p in enumerate(pieces)]


def _rotate(r: torch.Tensor, noise: torch.Tensor, angle: float) -> torch.Tensor:
    """A vector at ``angle`` (radians) from r, with r's norm (float64)."""
    u = r / r.norm()
    w = noise - (noise @ u) * u
    w = w / w.norm()
    return r.norm() * (math.cos(angle) * u + math.sin(angle) * w)


ADVERSARIAL_CASES = (
    "identical (g_F = g_R)",
    "parallel (g_F = 4 g_R)",
    "anti-parallel (g_F = -g_R/2)",
    "near-parallel (1e-3 rad)",
    "near-parallel (1e-6 rad)",
    "near-anti-parallel (1e-6 rad)",
    "orthogonal",
    "ratio 1e-8",
    "ratio 1e+8",
    "near-parallel, ratio 1e+6",
    "near-anti-parallel, ratio 1e-6",
    "tiny norms (1e-12)",
    "huge norms (1e+12)",
    "g_R = 0",
    "g_F = 0",
)


def adversarial_pair(case: str, dim: int, seed: int) -> tuple[Grads, Grads]:
    """One float32 pair (as lists of tensors) of a named adversarial case."""
    gen = torch.Generator().manual_seed(seed)
    r = torch.randn(dim, generator=gen, dtype=torch.float64)
    noise = torch.randn(dim, generator=gen, dtype=torch.float64)
    angle = float(torch.rand(1, generator=gen, dtype=torch.float64)) * math.pi
    f64 = {
        "identical (g_F = g_R)": lambda: r.clone(),
        "parallel (g_F = 4 g_R)": lambda: 4.0 * r,
        "anti-parallel (g_F = -g_R/2)": lambda: -0.5 * r,
        "near-parallel (1e-3 rad)": lambda: _rotate(r, noise, 1e-3),
        "near-parallel (1e-6 rad)": lambda: _rotate(r, noise, 1e-6),
        "near-anti-parallel (1e-6 rad)": lambda: -_rotate(r, noise, 1e-6),
        "orthogonal": lambda: _rotate(r, noise, math.pi / 2),
        "ratio 1e-8": lambda: 1e-8 * _rotate(r, noise, angle),
        "ratio 1e+8": lambda: 1e8 * _rotate(r, noise, angle),
        "near-parallel, ratio 1e+6": lambda: 1e6 * _rotate(r, noise, 1e-4),
        "near-anti-parallel, ratio 1e-6": lambda: -1e-6 * _rotate(r, noise, 1e-4),
        "tiny norms (1e-12)": lambda: _rotate(r, noise, angle),
        "huge norms (1e+12)": lambda: _rotate(r, noise, angle),
        "g_R = 0": lambda: noise.clone(),
        "g_F = 0": lambda: torch.zeros(dim, dtype=torch.float64),
    }
    if case not in f64:
        raise ValueError(f"unknown adversarial case {case!r}; known: {', '.join(f64)}")
    f = f64[case]()
    scale = {"tiny norms (1e-12)": 1e-12, "huge norms (1e+12)": 1e12}.get(case, 1.0)
    if case == "g_R = 0":
        r, f = torch.zeros(dim, dtype=torch.float64), f / f.norm()
    else:  # scale both so that ||g_R|| = scale; the angle and the ratio are kept
        r, f = r * (scale / r.norm()), f * (scale / r.norm())
    return _split(r.float()), _split(f.float())


def adversarial_sign_checks(
    dim: int,
    seed: int,
    *,
    instances: int = 5,
    cases: Sequence[str] = ADVERSARIAL_CASES,
    methods: Sequence[str] = CHECK_METHODS,
    losses: tuple[float, float] = (0.1, 1.0),
    tol: float = TOL32,
) -> pd.DataFrame:
    """Eq. 7 for every method on adversarial float32 pairs, through the engine's own
    ``directions.direction`` and ``directions.satisfies_eq7`` (d_scale = a ||g_R|| +
    b ||g_F||). A rule that raises (no direction exists) is recorded, not counted."""
    generator = torch.Generator().manual_seed(seed + 2)
    rows = []
    for case in cases:
        for k in range(instances):
            g_r, g_f = adversarial_pair(case, dim, seed * 1000 + k)
            geo = directions.Geometry.of(g_r, g_f, *losses)
            for method in methods:
                spec = method_spec(method)
                row = {"case": case, "instance": k, "method": method, "cos": geo.cosine}
                try:
                    out = directions.direction(
                        spec.rule,
                        g_r,
                        g_f,
                        loss_retain=losses[0],
                        loss_forget=losses[1],
                        generator=generator,
                        **spec.options,
                    )
                except directions.ZeroGradientError:
                    rows.append({**row, "holds": None, "raised": True})
                    continue
                w = out.weights
                scale = w.retain * geo.norm_retain + w.forget * geo.norm_forget
                rel_r, rel_f = _margins(g_r, g_f, out.d, geo, scale)
                rows.append(
                    {
                        **row,
                        "holds": directions.satisfies_eq7(g_r, g_f, out.d, tol, d_scale=scale),
                        "retain_ok": rel_r >= -tol,
                        "forget_ok": rel_f <= tol,
                        "margin_retain": rel_r,
                        "margin_forget": rel_f,
                        "raised": False,
                    }
                )
    return pd.DataFrame(rows)


def _margins(g_r, g_f, d, geo, scale) -> tuple[float, float]:
    rel_r = dot(g_r, d) / (geo.norm_retain * scale) if geo.rr > 0 and scale > 0 else 0.0
    rel_f = dot(g_f, d) / (geo.norm_forget * scale) if geo.ff > 0 and scale > 0 else 0.0
    return rel_r, rel_f
