"""NGDiff's Algorithm 1 on a language model: history, determinism, Eq. 7 on real steps,
AutoLR, NPO, the NaN guard, the joint step on any loss, visits, decoupled states."""

import copy
import math
from types import SimpleNamespace

import pandas as pd
import pytest
import torch

from nbutils.core.batches import answer_loss
from nbutils.engine import lm, methods, optim
from nbutils.engine.autolr import AutoLR
from nbutils.engine.gradients import trainable
from nbutils.engine.unlearner import Unlearner

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
    return lm.unlearn_lm(target.model, target.tokenizer, bench, method, **{**settings, **options})


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


def ngdiff_by_hand(ctx, seen: dict) -> dict:
    """A visit at theta_0: g_R and g_F of the step's own batches by autograd, and NGDiff's
    d = g_R/||g_R|| - g_F/||g_F||, kept in ``seen``."""
    if ctx.t == 0:
        grads = {}
        for task, loss in (("retain", ctx.retain_loss()), ("forget", ctx.forget_loss())):
            g = torch.autograd.grad(loss(), ctx.params, allow_unused=True)
            grads[task] = [torch.zeros_like(p) if x is None else x for x, p in zip(g, ctx.params)]
            seen[f"loss_{task}"] = loss().item()
        norm = {k: math.sqrt(sum(float((x**2).sum()) for x in g)) for k, g in grads.items()}
        seen["d"] = [r / norm["retain"] - f / norm["forget"]
                     for r, f in zip(grads["retain"], grads["forget"])]  # fmt: skip
        seen["theta"] = [p.detach().clone() for p in ctx.params]
        seen["batches"] = (ctx.batch_retain, ctx.batch_forget)
    return {}


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_one_step_is_theta_minus_lr_times_the_optimizers_step_along_ngdiff(
    small_bench, small_target, optimizer
):
    """theta_1 = theta_0 - lr u with u = d for SGD and, for Adam's first step
    (m_hat = d, v_hat = d^2), u = d / (|d| + 1e-8), elementwise. In float64, so that the
    step (about 1e-5 per weight for SGD) stands far above the rounding of theta."""
    target = SimpleNamespace(
        model=copy.deepcopy(small_target.model).double(), tokenizer=small_target.tokenizer
    )
    seen, lr = {}, 1e-3
    run = go(target, small_bench, optimizer=optimizer, lr=lr, steps=1, evaluate=False,
             visit=lambda ctx: ngdiff_by_hand(ctx, seen))  # fmt: skip
    for before, after, d in zip(seen["theta"], trainable(run.model), seen["d"]):
        u = d if optimizer == "sgd" else d / (d.abs() + 1e-8)
        torch.testing.assert_close(after.detach(), before - lr * u, rtol=0, atol=1e-12)


def test_a_small_ngdiff_step_lowers_l_r_and_raises_l_f_on_its_batches(small_bench, small_target):
    """Eq. 7 to first order: with g_R.d > 0 > g_F.d, a small SGD step descends L_R and
    ascends L_F on the batches it was computed on."""
    seen = {}
    run = go(small_target, small_bench, lr=1e-2, steps=1, evaluate=False,
             visit=lambda ctx: ngdiff_by_hand(ctx, seen))  # fmt: skip
    retain, forget = seen["batches"]
    with torch.no_grad():
        after = {"retain": answer_loss(run.model, retain), "forget": answer_loss(run.model, forget)}
    assert after["retain"].item() < seen["loss_retain"]
    assert after["forget"].item() > seen["loss_forget"]


def test_a_diverging_run_stops_with_the_step_and_keeps_its_history(small_bench, small_target):
    run = go(small_target, small_bench, "GDiff-0.5", lr=1e12, steps=20)
    assert run.diverged_at is not None and run.diverged_at >= 1
    assert len(run.history) == run.diverged_at
    assert run.history.loss_retain.map(math.isfinite).all()
    assert run.final == {"diverged_at": run.diverged_at}


def test_methods_by_name():
    assert methods.method("GDiff-0.3") == methods.Method("gdiff", 0.3)
    assert methods.method("NPO").forget_loss == "npo"
    with pytest.raises(ValueError, match="unknown method"):
        methods.method("SuperForget")
    with pytest.raises(ValueError, match="GDiff needs its c"):
        methods.Method("gdiff")


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

    retain, forget = (x[y != 0], y[y != 0]), (x[y == 0], y[y == 0])
    step = Unlearner(
        model,
        methods.Method("ngdiff"),
        iter(lambda: retain, None),
        iter(lambda: forget, None),
        lr=0.05,
        loss=loss,
        autolr=AutoLR(period=2),
    )
    before = loss(model, forget).item(), loss(model, retain).item()
    rows = [step.step(t) for t in range(6)]
    assert all(r["dot_retain_d"] >= 0 >= r["dot_forget_d"] for r in rows)
    assert loss(model, forget).item() > before[0] and loss(model, retain).item() < before[1]
    assert sum("autolr_accepted" in r for r in rows) == 3


def test_npo_refuses_a_non_language_model_loss():
    with pytest.raises(ValueError, match="NPO needs"):
        Unlearner(
            torch.nn.Linear(2, 2),
            methods.METHODS["NPO"],
            iter([]),
            iter([]),
            lr=0.1,
            npo_reference=torch.zeros(1),
            loss=lambda m, b: m(b).sum(),
        )


def test_a_visit_sees_theta_t_and_the_steps_own_batches(small_bench, small_target):
    """The landscape walks measure theta_t on the batches the step then uses: the loss a
    visit computes equals the step's recorded L_R, and the visit's row joins the step's."""

    def visit(ctx):
        return {"visited_loss_retain": ctx.retain_loss()().item(), "visited_t": ctx.t}

    h = go(small_target, small_bench, steps=4, visit=visit, evaluate=False).history
    assert h.visited_t.tolist() == [0, 1, 2, 3]
    assert h.visited_loss_retain.to_numpy() == pytest.approx(h.loss_retain.to_numpy(), rel=1e-6)
    assert "rouge_forget" not in h


def test_shared_task_states_equal_the_plain_optimizer(small_bench, small_target):
    """NGDiff with one shared Adam state for both tasks is the engine's NGDiff under Adam;
    decoupled states (NGDiff + DualOptim) differ."""
    plain = go(small_target, small_bench, optimizer="adam", lr=1e-3).history
    shared = go(
        small_target,
        small_bench,
        optimizer=lambda params: optim.TaskStates.shared(optim.Adam(params)),
        lr=1e-3,
    ).history
    decoupled = go(
        small_target, small_bench, optimizer=lambda p: optim.make_states("dualoptim", p), lr=1e-3
    ).history
    pd.testing.assert_series_equal(plain.loss_retain, shared.loss_retain, check_exact=True)
    assert not plain.loss_retain.iloc[1:-1].equals(decoupled.loss_retain.iloc[1:-1])
