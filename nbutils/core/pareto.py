"""Pareto dominance, the non-dominated frontier and the 2-D hypervolume (NGDiff Def. 1, Fig. 1).

Every function here takes points as an array of shape (n, 2) whose two objectives are
both *maximized*. A notebook maps its measurements into that space first, e.g. ROUGE
space: (1 - ROUGE_F, ROUGE_R), where (1, 1) is perfect forgetting with perfect utility;
or loss space: (L_F, -L_R). Definition 1 of the paper (theta is dominated by theta' if
L_R(theta) >= L_R(theta') and L_F(theta) <= L_F(theta'), one inequality strict) is
``dominates`` in loss space.

The hypervolume of a point set is the area of the region that the set dominates and
that itself dominates the reference point r: the union of the rectangles
[r_0, p_0] x [r_1, p_1]. A point that does not strictly beat r in both objectives
contributes nothing. The area a new point adds to a frontier, ``added_hypervolume``,
is the score of a method against the GDiff(c) sweep: 0 when the sweep dominates it.
"""

from __future__ import annotations

import numpy as np


def _points(points) -> np.ndarray:
    """``points`` as a float array of shape (n, 2); raises on NaN or a wrong shape."""
    array = np.asarray(points, dtype=float)
    if array.size == 0:
        return array.reshape(0, 2)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != 2:
        raise ValueError(f"points must have shape (n, 2), got {array.shape}")
    if np.isnan(array).any():
        raise ValueError("points contain NaN: drop diverged runs before comparing them")
    return array


def dominates(a, b) -> bool:
    """True when ``a`` is at least as good as ``b`` in both objectives (maximized) and
    strictly better in one (Definition 1)."""
    a, b = _points(a)[0], _points(b)[0]
    return bool(np.all(a >= b) and np.any(a > b))


def dominated_by(point, points) -> np.ndarray:
    """Boolean mask over ``points``: which of them dominate ``point``."""
    p, others = _points(point)[0], _points(points)
    return np.all(others >= p, axis=1) & np.any(others > p, axis=1)


def non_dominated(points) -> np.ndarray:
    """Boolean mask of the points that no other point dominates. Duplicates of a
    non-dominated point are all kept (none dominates the other)."""
    array = _points(points)
    return np.array([not dominated_by(p, array).any() for p in array], dtype=bool)


def frontier(points) -> np.ndarray:
    """Indices of the non-dominated points, sorted by the first objective (ascending),
    hence by the second descending: the staircase drawn in a Pareto plot."""
    array = _points(points)
    index = np.flatnonzero(non_dominated(array))
    return index[np.lexsort((-array[index, 1], array[index, 0]))]


def hypervolume(points, reference=(0.0, 0.0)) -> float:
    """Area dominated by ``points`` and dominating ``reference`` (both objectives
    maximized): the area of the union of the rectangles [r_0, p_0] x [r_1, p_1].

    Sweep along the first objective from the best point down: each frontier point adds
    a strip (p_0 - r_0) x (p_1 - previous p_1). Points not strictly better than the
    reference in both objectives add nothing. Units: product of the objectives' units.
    """
    array, ref = _points(points), _points(reference)[0]
    array = array[np.all(array > ref, axis=1)]
    if len(array) == 0:
        return 0.0
    front = array[frontier(array)]  # first objective ascending, second descending
    area, covered = 0.0, ref[1]
    for x, y in front[::-1]:  # first objective descending, second ascending
        if y > covered:
            area += (x - ref[0]) * (y - covered)
            covered = y
    return float(area)


def added_hypervolume(point, points, reference=(0.0, 0.0)) -> float:
    """Hypervolume that ``point`` adds to the set ``points``: HV(points + {point}) -
    HV(points). Zero when some point of the set dominates it (or equals it); equal to
    its own rectangle when the set is empty."""
    base = _points(points)
    return hypervolume(np.vstack([base, _points(point)]), reference) - hypervolume(base, reference)


def rouge_space(rouge_forget, rouge_retain) -> np.ndarray:
    """ROUGE space, both maximized: (1 - ROUGE_F, ROUGE_R); natural reference (0, 0)."""
    return np.column_stack([1.0 - np.asarray(rouge_forget, float), np.asarray(rouge_retain, float)])


def loss_space(loss_forget, loss_retain) -> np.ndarray:
    """Loss space, both maximized: (L_F, -L_R) (Definition 1: larger L_F, smaller L_R)."""
    return np.column_stack([np.asarray(loss_forget, float), -np.asarray(loss_retain, float)])


__all__ = [
    "dominates",
    "dominated_by",
    "non_dominated",
    "frontier",
    "hypervolume",
    "added_hypervolume",
    "rouge_space",
    "loss_space",
]
