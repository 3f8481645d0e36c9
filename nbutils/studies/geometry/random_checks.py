"""Eq. 7 (Lemma 4) for every rule on random high-dimensional float32 pairs (g_R, g_F),
generated and checked chunk by chunk in reused buffers (``random_sign_checks``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ...engine import directions
from ...engine.methods import weights as method_weights
from .eq7 import CHECK_METHODS, TOL32


@dataclass(frozen=True)
class PairSpec:
    """How random pairs are drawn: cos(g_R, g_F) ~ U[-1, 1]; log10 ||g_F||/||g_R||,
    log10 ||g_R|| and log10 of each loss (LossNorm) uniform on the given ranges."""

    log10_ratio: tuple[float, float] = (-6.0, 6.0)
    log10_norm_retain: tuple[float, float] = (-3.0, 3.0)
    log10_loss: tuple[float, float] = (-2.0, 1.0)


def chunk_rows(dim: int, budget_bytes: int = 2**25, itemsize: int = 4) -> int:
    """Pairs per chunk so that one (chunk, dim) array takes about ``budget_bytes``."""
    return max(1, budget_bytes // (dim * itemsize))


@dataclass(frozen=True)
class ChunkBuffers:
    """The four (rows, dim) arrays a chunk of random pairs needs: g_R, g_F and two
    scratch arrays (w and a product while a chunk is drawn; d and a product while it
    is checked). Allocated once and reused chunk after chunk: a fresh set of
    chunk-sized temporaries per chunk (16 of them, each just under glibc's 32 MiB
    ceiling for mmap'd blocks at the default budget, so they came from the heap)
    interleaved with the small objects a chunk's checks keep fragmented the heap, and
    notebook 01's 10^4 pairs in R^10^5 grew past 13 GB resident."""

    g_r: torch.Tensor
    g_f: torch.Tensor
    work: torch.Tensor
    spare: torch.Tensor

    @classmethod
    def allocate(cls, rows: int, dim: int, dtype: torch.dtype = torch.float32) -> ChunkBuffers:
        return cls(*(torch.empty(rows, dim, dtype=dtype) for _ in range(4)))

    def rows(self, m: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The first ``m`` rows of each buffer (contiguous views)."""
        return self.g_r[:m], self.g_f[:m], self.work[:m], self.spare[:m]


def random_pair_chunks(
    n_pairs: int,
    dim: int,
    seed: int,
    spec: PairSpec = PairSpec(),
    dtype: torch.dtype = torch.float32,
    chunk: int | None = None,
    buffers: ChunkBuffers | None = None,
) -> Iterator[tuple[torch.Tensor, torch.Tensor, pd.DataFrame]]:
    """Random gradient pairs in R^dim, ``chunk`` at a time: (g_R, g_F, their draws).

    g_R = ||g_R|| u and g_F = ||g_F|| (cos u + sin w), with u uniform on the sphere and w
    a unit vector orthogonal to u, so cos(g_R, g_F) is the drawn cosine (to rounding)
    whatever the dimension (random directions in high dimension are nearly orthogonal).
    Only one chunk of pairs is in memory at a time. With ``buffers`` (at least ``chunk``
    rows) every chunk is drawn into them: the yielded g_R, g_F are views that the next
    chunk overwrites. Without, each chunk gets its own arrays. The values are the same.
    """
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    chunk = chunk or chunk_rows(dim)
    for start in range(0, n_pairs, chunk):
        m = min(chunk, n_pairs - start)
        cos = rng.uniform(-1.0, 1.0, m)
        ratio = 10.0 ** rng.uniform(*spec.log10_ratio, m)
        norm_r = 10.0 ** rng.uniform(*spec.log10_norm_retain, m)
        loss_r, loss_f = 10.0 ** rng.uniform(*spec.log10_loss, (2, m))
        u, g_f, w, tmp = (buffers or ChunkBuffers.allocate(m, dim, dtype)).rows(m)
        torch.randn(m, dim, generator=gen, dtype=dtype, out=u)
        u /= torch.linalg.vector_norm(u, dim=1, keepdim=True)
        torch.randn(m, dim, generator=gen, dtype=dtype, out=w)
        w -= torch.mul(torch.mul(w, u, out=tmp).sum(dim=1, keepdim=True), u, out=tmp)
        w /= torch.linalg.vector_norm(w, dim=1, keepdim=True)
        sin = np.sqrt(np.clip(1.0 - cos**2, 0.0, None))
        col = lambda x: torch.as_tensor(x, dtype=dtype).unsqueeze(1)  # noqa: E731
        torch.mul(col(norm_r * ratio * cos), u, out=g_f)
        g_f += torch.mul(col(norm_r * ratio * sin), w, out=tmp)
        g_r = u.mul_(col(norm_r))
        draws = pd.DataFrame(
            {
                "pair": np.arange(start, start + m),
                "cos": cos,
                "log10_ratio": np.log10(ratio),
                "norm_retain": norm_r,
                "loss_retain": loss_r,
                "loss_forget": loss_f,
            }
        )
        yield g_r, g_f, draws


FORMED = ("NGDiff", "IMTL-G", "PCGrad")  # rules whose margins vanish for parallel pairs: d formed


def check_batch(
    g_r: torch.Tensor,
    g_f: torch.Tensor,
    draws: pd.DataFrame,
    methods: Sequence[str] = CHECK_METHODS,
    generator: torch.Generator | None = None,
    tol: float = TOL32,
    formed: Sequence[str] = FORMED,
    buffers: ChunkBuffers | None = None,
) -> pd.DataFrame:
    """Eq. 7 for every method on a batch of pairs (rows of g_r, g_f), in their dtype.

    The Gram scalars ||g_R||^2, ||g_F||^2, g_R.g_F are reduced in the batch's dtype (as
    the engine does per tensor) and handed to the rule in float64. For most methods the
    signs then come from the Gram scalars, g_R.d = a ||g_R||^2 - b g_R.g_F, exactly as
    the engine records ``dot_retain_d`` (their failures are geometric, far above
    rounding). For the methods in ``formed`` (Lemma 4's, whose margins vanish for
    parallel pairs) d = a g_R - b g_F is formed in the batch's dtype and g_R.d, g_F.d
    are its inner products in that dtype: the full float32 rounding. One row per
    (pair, method): ``holds`` (Eq. 7 up to ``tol``), ``retain_ok``, ``forget_ok``, the
    margins g.d / (||g|| s) with s = a ||g_R|| + b ||g_F||, and ``d_formed``.
    The products and d are formed in ``buffers``' two scratch arrays (``work``,
    ``spare``; not its g_R, g_F, which may be the inputs), else in two fresh ones.
    """
    m = len(g_r)
    if buffers is None:
        d, tmp = torch.empty_like(g_r), torch.empty_like(g_r)
    else:
        _, _, d, tmp = buffers.rows(m)
    rr = torch.linalg.vector_norm(g_r, dim=1).double().square().numpy()
    ff = torch.linalg.vector_norm(g_f, dim=1).double().square().numpy()
    rf = torch.mul(g_r, g_f, out=tmp).sum(dim=1).double().numpy()
    loss_r, loss_f = draws["loss_retain"].to_numpy(), draws["loss_forget"].to_numpy()
    geos = [
        directions.Geometry(float(rr[i]), float(ff[i]), float(rf[i]), loss_r[i], loss_f[i])
        for i in range(len(rr))
    ]
    out = []
    nr, nf = np.sqrt(rr), np.sqrt(ff)
    col = lambda x: torch.as_tensor(x, dtype=g_r.dtype).unsqueeze(1)  # noqa: E731
    for method in methods:
        ws = [method_weights(method, geo, generator) for geo in geos]
        a = np.array([w.retain for w in ws])
        b = np.array([w.forget for w in ws])
        if method in formed:
            torch.mul(col(a), g_r, out=d)
            d -= torch.mul(col(b), g_f, out=tmp)
            dot_r = torch.mul(g_r, d, out=tmp).sum(dim=1).double().numpy()
            dot_f = torch.mul(g_f, d, out=tmp).sum(dim=1).double().numpy()
        else:
            dot_r, dot_f = a * rr - b * rf, a * rf - b * ff
        scale = a * nr + b * nf
        with np.errstate(invalid="ignore", divide="ignore"):
            rel_r = np.where(nr * scale > 0, dot_r / (nr * scale), 0.0)
            rel_f = np.where(nf * scale > 0, dot_f / (nf * scale), 0.0)
        retain_ok, forget_ok = rel_r >= -tol, rel_f <= tol
        out.append(
            pd.DataFrame(
                {
                    "pair": draws["pair"].to_numpy(),
                    "method": method,
                    "implied_c": a / (a + b),
                    "margin_retain": rel_r,
                    "margin_forget": rel_f,
                    "retain_ok": retain_ok,
                    "forget_ok": forget_ok,
                    "holds": retain_ok & forget_ok,
                    "d_formed": method in formed,
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def random_sign_checks(
    n_pairs: int,
    dim: int,
    seed: int,
    *,
    methods: Sequence[str] = CHECK_METHODS,
    spec: PairSpec = PairSpec(),
    tol: float = TOL32,
    progress: bool = True,
    chunk: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Eq. 7 for every method over ``n_pairs`` random float32 pairs in R^dim, chunk by
    chunk (``chunk_rows(dim)`` pairs unless ``chunk`` is given), all drawn and checked
    in one ``ChunkBuffers``. Returns (checks: one row per pair and method, draws: one
    row per pair)."""
    from tqdm.auto import tqdm

    generator = torch.Generator().manual_seed(seed + 1)  # RLW's draws
    chunk = chunk or chunk_rows(dim)
    buffers = ChunkBuffers.allocate(min(chunk, n_pairs), dim)
    checks, draws_all = [], []
    bar = tqdm(total=n_pairs, desc="random pairs", disable=not progress, leave=True)
    chunks = random_pair_chunks(n_pairs, dim, seed, spec, chunk=chunk, buffers=buffers)
    for g_r, g_f, draws in chunks:
        checks.append(check_batch(g_r, g_f, draws, methods, generator, tol, buffers=buffers))
        draws_all.append(draws)
        bar.update(len(draws))
    bar.close()
    return pd.concat(checks, ignore_index=True), pd.concat(draws_all, ignore_index=True)
