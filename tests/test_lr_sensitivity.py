"""Notebook 04's learning-rate sensitivity: the best fixed rate, the paper's arithmetic, the
curves figure, on hand-made tables."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nbutils.studies import lr_sensitivity as S  # noqa: E402
from nbutils.studies.style import Line  # noqa: E402


def table(outcomes):
    """A per_rate table from {lr: (forget mean, retain mean, diverged runs)}."""
    return pd.DataFrame(
        [
            {
                "lr": lr,
                "rouge_forget_mean": f,
                "rouge_forget_std": 0.0,
                "rouge_retain_mean": r,
                "rouge_retain_std": 0.0,
                "runs": 3,
                "diverged": d,
            }
            for lr, (f, r, d) in outcomes.items()
        ]
    )


def test_best_rate_is_the_best_utility_among_rates_that_forget():
    t = table(
        {
            0.01: (0.9, 1.0, 0),  # best utility but does not forget
            0.1: (0.1, 0.8, 0),  # at the threshold: does not forget (Verbmem < 0.1)
            0.2: (0.05, 0.7, 0),  # forgets
            0.3: (0.0, 0.6, 0),
            1.0: (0.0, 0.95, 1),  # a diverged run: never chosen
        }
    )
    best = S.best_fixed_rate(t)
    assert (best.lr, best.rouge_forget, best.rouge_retain, best.forgets) == (0.2, 0.05, 0.7, True)
    assert "mean ROUGE_F < 0.1" in best.rule


def test_best_rate_ties_go_to_the_smaller_rate():
    t = table({0.3: (0.0, 0.7, 0), 0.1: (0.05, 0.7, 0)})
    assert S.best_fixed_rate(t).lr == 0.1


def test_best_rate_without_a_forgetting_rate_says_so():
    t = table({0.01: (0.9, 1.0, 0), 0.1: (0.4, 0.9, 0), 0.3: (0.4, 0.95, 0)})
    best = S.best_fixed_rate(t)
    assert best.lr == 0.3 and not best.forgets and "no rate" in best.rule
    with pytest.raises(ValueError, match="every rate"):
        S.best_fixed_rate(table({0.1: (0.0, 0.5, 2)}))


def test_retain_advantage_reproduces_the_papers_arithmetic():
    best = S.BestRate(1e-4, 0.02, 0.625, True, "")
    adv = S.retain_advantage(0.747, best)
    assert adv["absolute"] == pytest.approx(0.122)
    assert adv["relative_percent"] == pytest.approx(19.52, abs=0.01)  # "19.5% higher"


def test_curves_figure_draws_one_line_per_label_in_each_panel(band_histories):
    h = band_histories.assign(loss_retain=lambda d: d.loss_forget, rouge_retain=1.0)
    lines = {"a": Line("C0", "rate a"), "b": Line("C1", "rate b", "--")}
    fig = S.curves_figure({"SGD": (h, lines)}, "test")
    axes = fig.axes
    assert len(axes) == 4
    assert all(len(ax.get_lines()) == 2 for ax in axes)
    assert axes[2].get_yscale() == "log"
    plt.close(fig)
