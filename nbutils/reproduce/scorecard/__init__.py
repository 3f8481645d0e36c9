"""The scorecard: every claim of the registry, on several benchmark draws, with intervals.

``python -m nbutils scorecard`` runs the verdict notebooks once per draw (``--seed`` =
the draw: another benchmark, another target, other unlearning and tuning seeds), each
notebook on its own draws (``draw_plan``: draws 0-2, the headline notebooks of
``DRAW_COUNTS`` on more; ``--seeds`` gives every notebook the same draws),
collects each figure sidecar's claims (every run's value), and evaluates every claim per
draw (an interval over its seeds) and pooled over the draws (draws as a random effect:
an interval over the draw means; a claim measured on one draw has none there, and says
"one draw": ``claims.evaluate`` with ``over_draws``). A notebook that fails on a draw is
reported as failed there; the other draws are still reported; with ``--collect``
(nothing run, the sidecars taken as they are) a notebook none of whose sidecars is in the
draw's folder is reported as not run. Written: ``scorecard.json`` (everything),
``scorecard.md`` (the table, grouped by source, sanity checks apart) and
``scorecard.png`` (claims x draws, coloured by verdict).

What is pooled: a notebook's runs on a draw count only when every figure of the notebook
has its sidecar there, readable, of the draw's seed, of the scorecard's size (smoke or
not) and of one commit, and that commit is the one the scorecard rests on (the commit most
notebook-draws record: ``pool_one_commit``). Anything else is reported with the reason and
none of that notebook's runs on that draw is pooled.

Where the sidecars go (``draw_dir``): the default draw's (seed 0) next to the scorecard
(``figures/`` for ``make figures``, where they are the figures); every other draw's, run
with ``verdicts_only`` (each notebook skips what no claim needs), in
``<scorecard folder>/draws/draw-<seed>/`` (``figures/draws/draw-<seed>/``: committed with
the scorecard they support). ``check_release`` says whether such a folder is one clean
release: one commit and one machine, not dirty, not smoke, every notebook's sidecars
present on each of its draws.
"""

from .pooling import *  # noqa: F403
from .release import *  # noqa: F403
from .report import *  # noqa: F403
