"""Notebook 01: the gradient geometry of unlearning (NGDiff Fig. 2, Eq. 7, Lemma 4,
Theorem 5), one module per topic.

Every rule is a dynamic scalarization d = a g_R - b g_F (Eq. 5, ``engine.directions``);
Eq. 7 asks g_R.d >= 0 >= g_F.d.

- ``plane``: Fig. 2 in 2-D (g_R, g_F, the GDiff cone, Eq. 7's green region, each rule's
  direction) and its interactive explorer;
- ``eq7``: the condition's float32 tolerance, the rules checked, shares of cases where it
  holds, GDiff(c)'s closed-form boundary;
- ``random_checks``, ``adversarial_checks``, ``real_checks``: Eq. 7 (Lemma 4) on random
  high-dimensional pairs, on adversarial pairs through the engine's own rules, and at
  the recorded steps of real runs;
- ``theorem5``: Theorem 5's probes on real NGDiff steps and their summary;
- ``claims``: the notebook's registry claims, measured;
- ``plots``: the figures of the sign checks and of Theorem 5.
"""

from . import adversarial_checks, claims, eq7, plane, plots, random_checks, real_checks, theorem5

__all__ = [
    "adversarial_checks",
    "claims",
    "eq7",
    "plane",
    "plots",
    "random_checks",
    "real_checks",
    "theorem5",
]
