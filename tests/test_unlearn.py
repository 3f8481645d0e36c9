"""The unlearning loop: history, determinism, Eq. 7 on real steps, AutoLR, NPO, NaN guard."""

import math

import pandas as pd
import pytest
import torch

from nbutils import unlearn
from nbutils.autolr import AutoLR

STEP_COLUMNS = {
    "step",
    "loss_retain",
    "loss_forget",
    "grad_norm_retain",
    "grad_norm_forget",
    "cos",
    "implied_c",
    "weight_retain",
    "weight_forget",
    "dot_retain_d",
    "dot_forget_d",
    "lr",
    "forward_passes",
}
EVAL_COLUMNS = {"rouge_forget", "rouge_retain", "split_loss_forget", "split_loss_retain"}


def go(target, bench, method="NGDiff", **options):
    settings = dict(steps=6, lr=0.1, batch_size=8, eval_every=3, progress=False)
    return unlearn.run(target.model, target.tokenizer, bench, method, **{**settings, **options})


def test_history_has_a_row_per_step_and_a_final_evaluation(small_bench, small_target):
    history = go(small_target, small_bench).history
    assert list(history.step) == list(range(7))
    assert STEP_COLUMNS | EVAL_COLUMNS <= set(history.columns)
    evaluated = history.dropna(subset=["rouge_forget"]).step.tolist()
    assert evaluated == [0, 3, 6]
    assert history.iloc[:-1][list(STEP_COLUMNS)].notna().all().all()


def test_same_seed_same_history_to_the_last_digit(small_bench, small_target):
    a = go(small_target, small_bench, "RLW", seed=3, autolr=AutoLR(period=2)).history
    b = go(small_target, small_bench, "RLW", seed=3, autolr=AutoLR(period=2)).history
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    c = go(small_target, small_bench, "RLW", seed=4, autolr=AutoLR(period=2)).history
    assert not a["loss_retain"].equals(c["loss_retain"])


def test_ngdiff_satisfies_eq7_at_every_real_step(small_bench, small_target):
    history = go(small_target, small_bench, steps=10).history.iloc[:-1]
    assert (history.dot_retain_d >= 0).all() and (history.dot_forget_d <= 0).all()
    # and its weights are 1/||g||
    assert (history.weight_retain * history.grad_norm_retain).to_numpy() == pytest.approx(1.0)


def test_history_c_t_identity(small_bench, small_target):
    h = go(small_target, small_bench, "LossNorm").history.iloc[:-1]
    c = h.implied_c
    assert (c / (1 - c)).to_numpy() == pytest.approx((h.loss_forget / h.loss_retain).to_numpy())


def test_the_target_is_left_intact(small_bench, small_target):
    before = {k: v.clone() for k, v in small_target.model.state_dict().items()}
    run = go(small_target, small_bench, lr=1.0)
    after = small_target.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(not torch.equal(before[k], v) for k, v in run.model.state_dict().items())


def test_autolr_updates_only_on_its_steps_and_counts_forward_passes(small_bench, small_target):
    h = go(small_target, small_bench, steps=9, autolr=AutoLR(period=3)).history.iloc[:-1]
    updates = h.dropna(subset=["autolr_accepted"]).step.tolist()
    assert updates == [2, 5, 8]
    changed = h.step[h.lr.diff().fillna(0) != 0].tolist()
    assert set(changed) <= set(updates)
    assert h.forward_passes.tolist() == [
        2 * (t + 1) + 2 * sum(u <= t for u in updates) for t in h.step
    ]


def test_gen_style_autolr_probes_on_a_fresh_batch(small_bench, small_target):
    h = go(small_target, small_bench, steps=4, autolr=AutoLR.gen_style(period=2)).history
    assert h.forward_passes.iloc[-1] == 4 * 2 + 2 * 3


def test_npo_starts_at_2_log_2_over_beta(small_bench, small_target):
    h = go(small_target, small_bench, "NPO", npo_beta=0.2).history
    assert h.loss_npo.iloc[0] == pytest.approx(2 * math.log(2) / 0.2, rel=1e-5)
    assert h.implied_c.iloc[0] == pytest.approx(0.5)


def test_adam_and_momentum_paths_run(small_bench, small_target):
    for optimizer in ("adam", "sgd"):
        h = go(small_target, small_bench, optimizer=optimizer, lr=1e-3).history
        assert math.isfinite(h.rouge_forget.iloc[-1])


def test_a_diverging_run_stops_with_the_step_and_keeps_its_history(small_bench, small_target):
    with pytest.raises(unlearn.UnlearningDiverged, match=r"non-finite .* at step \d+") as err:
        go(small_target, small_bench, "GDiff-0.5", lr=1e12, steps=20)
    assert err.value.step >= 1
    assert len(err.value.history) == err.value.step
    assert "last finite values" in str(err.value)
    assert err.value.history.loss_retain.map(math.isfinite).all()


def test_methods_by_name():
    assert unlearn.method("GDiff-0.3") == unlearn.Method("gdiff", 0.3)
    assert unlearn.method("NPO").forget_loss == "npo"
    with pytest.raises(ValueError, match="unknown method"):
        unlearn.method("SuperForget")
    with pytest.raises(ValueError, match="GDiff needs its c"):
        unlearn.Method("gdiff")


@pytest.mark.parametrize(
    "options, message",
    [({"steps": 0}, "steps"), ({"lr": 0.0}, "lr"), ({"eval_every": 0}, "eval_every")],
)
def test_bad_run_settings_are_rejected(small_bench, small_target, options, message):
    with pytest.raises(ValueError, match=message):
        go(small_target, small_bench, **options)


def test_the_step_serves_any_loss_such_as_a_classifiers():
    """A batch, a loss, a model: NGDiff + AutoLR on logistic regression."""
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3)
    x = torch.randn(32, 4)
    y = torch.randint(0, 3, (32,))

    def loss(net, batch):
        return torch.nn.functional.cross_entropy(net(batch[0]), batch[1])

    step = unlearn.Unlearner(
        model, unlearn.Method("ngdiff"), lr=0.05, loss=loss, autolr=AutoLR(period=2)
    )
    retain, forget = (x[y != 0], y[y != 0]), (x[y == 0], y[y == 0])
    before = loss(model, forget).item(), loss(model, retain).item()
    rows = [step.step(t, retain, forget) for t in range(6)]
    assert all(r["dot_retain_d"] >= 0 >= r["dot_forget_d"] for r in rows)
    assert loss(model, forget).item() > before[0] and loss(model, retain).item() < before[1]
    assert sum("autolr_accepted" in r for r in rows) == 3


def test_npo_refuses_a_non_language_model_loss():
    with pytest.raises(ValueError, match="NPO needs"):
        unlearn.Unlearner(
            torch.nn.Linear(2, 2),
            unlearn.METHODS["NPO"],
            lr=0.1,
            npo_reference=torch.zeros(1),
            loss=lambda m, b: m(b).sum(),
        )
