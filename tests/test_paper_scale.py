"""The paper-scale path, tested offline: presets, precision, verbmem, workflows (issue 9)."""

import copy
import re
import shlex
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import yaml

from nbutils.core import models, runtime, targets, verbmem
from nbutils.core.targets import TargetSettings
from nbutils.reproduce import catalog, cli, presets, running

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = dict(model="tiny", dataset="authors", dtype="float32")


def session(**params):
    base = dict(seed=0, smoke=False, n_seeds=3, scale="default", **DEFAULTS)
    return SimpleNamespace(
        params={**base, **params},
        seed=0,
        smoke=params.get("smoke", False),
        device=torch.device("cpu"),
    )


def test_paper_scale_expands_to_the_documented_settings():
    expanded = presets.expand_scale({"scale": "paper", **DEFAULTS})
    assert expanded == {
        "scale": "paper",
        "model": "microsoft/phi-1_5",
        "dataset": "tofu",
        "dtype": "bfloat16",
    }
    explicit = presets.expand_scale({"scale": "paper", **DEFAULTS, "model": "gpt2-xl"})
    assert explicit["model"] == "gpt2-xl"  # a value the user set wins
    on_cpu = presets.expand_scale({"scale": "paper", **DEFAULTS}, "cpu")
    assert on_cpu["dtype"] == "float32" and on_cpu["model"] == "microsoft/phi-1_5"
    assert presets.expand_scale({"scale": "default", **DEFAULTS}) == {
        "scale": "default",
        **DEFAULTS,
    }


def test_paper_protocol_and_target_follow_appendix_f3():
    paper = session(scale="paper", model="microsoft/phi-1_5", dataset="tofu")
    protocol = presets.protocol(paper)
    assert protocol.optimizer == "adam" and protocol.lr_grid == (1e-5, 5e-5, 1e-4)
    assert protocol.batch_size == 32 and protocol.steps == 15 * 13  # 15 epochs of 400 / 32
    assert protocol.max_new_tokens == 200 and protocol.eval_retain == 400
    settings = presets.target_settings(paper)
    assert (settings.lr, settings.batch_size, settings.max_epochs) == (2e-5, 32, 25)
    assert presets.target_settings(session(smoke=True, model="microsoft/phi-1_5")).max_epochs == 1
    assert presets.protocol(session()) == presets.PROTOCOL  # the default stays the tiny one


def test_tofu_dataset_loads_through_the_preset_from_a_local_folder():
    fixture = str(Path(__file__).parent / "fixtures" / "tofu")
    bench = presets.benchmark(session(dataset=fixture))
    assert len(bench.forget) == 20 and len(bench.retain) == 60


def test_cuda_without_cuda_fails_at_the_validation_cell(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    values = {
        **cli.declared_defaults("00_tour"),
        "device": "cuda",
        "smoke": True,
        "out_dir": str(tmp_path),
    }
    with pytest.raises(RuntimeError) as err:
        running.run_notebook(catalog.entry("00_tour"), values, tmp_path / "build")
    message = str(err.value)
    assert "failed in cell 3 ('import nbutils as nbu')" in message
    assert "CUDA" in message and "device='cuda'" in message


def test_half_precision_is_refused_on_cpu():
    with pytest.raises(ValueError, match="needs device='cuda'"):
        runtime.resolve_dtype("bfloat16", torch.device("cpu"))


def test_autocast_forward_survives_deepcopy(small_target):
    model = copy.deepcopy(small_target.model)
    runtime.autocast_forward(model, torch.bfloat16)
    ids = torch.tensor([[5, 6, 7]])
    assert model(input_ids=ids).logits.dtype == torch.bfloat16
    clone = copy.deepcopy(model)
    with torch.no_grad():
        for p in clone.parameters():
            p.zero_()
    assert clone(input_ids=ids).logits.abs().max() < model(input_ids=ids).logits.abs().max()
    assert clone(input_ids=ids).logits.dtype == torch.bfloat16


def test_precision_is_part_of_the_target_key_only_when_not_float32(small_bench):
    settings = presets.SMOKE_TARGET
    plain = targets.target_key(small_bench, "tiny", 0, settings, "all")
    assert targets.target_key(small_bench, "tiny", 0, settings, "all", "float32") == plain
    assert targets.target_key(small_bench, "tiny", 0, settings, "all", "bfloat16") != plain


def test_a_local_model_folder_is_fine_tuned_as_a_target(small_bench, small_target, tmp_path):
    small_target.model.save_pretrained(tmp_path / "local")
    small_target.tokenizer.save_pretrained(tmp_path / "local")
    settings = TargetSettings(lr=1e-4, max_epochs=1, check_every=1)
    for cached in (False, True):
        target = targets.train_target(
            small_bench,
            str(tmp_path / "local"),
            settings=settings,
            cache_dir=tmp_path / "cache",
            progress=False,
        )
        assert target.from_cache is cached and target.epochs == 1


def test_the_paper_path_through_a_small_phi_folder_on_the_cpu(tmp_path, monkeypatch):
    """The paper's path (TOFU-schema files, a local Phi folder, checkpointing on, Adam)
    with a 2-layer Phi: the target is fine-tuned and cached, and a Hessian-vector
    product (01, 03) through its checkpointed layers gives g.v and v^T H v of the plain
    backward pass and of a finite difference of it."""
    from transformers import PhiConfig, PhiForCausalLM

    from nbutils.core import data
    from nbutils.core.batches import answer_loss, collate, encode_records
    from nbutils.engine import probes
    from nbutils.engine.gradients import trainable

    fixture = str(Path(__file__).parent / "fixtures" / "tofu")
    tok = models.train_tokenizer(models.benchmark_corpus(data.load_tofu(path=fixture)), 512)
    config = PhiConfig(
        vocab_size=512,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    PhiForCausalLM(config).save_pretrained(tmp_path / "phi")
    tok.save_pretrained(tmp_path / "phi")
    monkeypatch.setenv("NBUTILS_CACHE", str(tmp_path / "cache"))
    paper = session(scale="paper", smoke=True, model=str(tmp_path / "phi"), dataset=fixture)
    bench = presets.benchmark(paper)
    target = presets.target(paper, bench)
    assert target.model.is_activation_checkpointing and presets.protocol(paper).optimizer == "adam"
    model = target.model
    runtime.checkpoint_layers(model)
    batch = collate(encode_records(target.tokenizer, bench.retain[:4]), tok.pad_token_id)
    params = trainable(model)
    gen = torch.Generator().manual_seed(0)
    v = [torch.randn(p.shape, generator=gen) for p in params]
    v = [x / sum(float((y**2).sum()) for y in v) ** 0.5 for x in v]  # a random unit vector
    exact = probes.directional(lambda: answer_loss(model, batch), params, v)

    def slope() -> float:  # g.v by a plain backward pass (float64 sums)
        g = torch.autograd.grad(answer_loss(model, batch), params, allow_unused=True)
        return sum(float((x.double() * y.double()).sum()) for x, y in zip(g, v) if x is not None)

    theta = [p.detach().clone() for p in params]

    def shifted_slope(h: float) -> float:  # g.v at theta + h v
        with torch.no_grad():
            torch._foreach_add_(params, v, alpha=h)
        try:
            return slope()
        finally:
            with torch.no_grad():
                torch._foreach_copy_(params, theta)

    assert exact.slope == pytest.approx(slope(), rel=1e-5)
    # v^T H v against the central difference of g.v (float32: h = 0.01 balances the
    # O(h^2) error and the rounding; they agree to about 4e-5 here)
    h = 0.01
    difference = (shifted_slope(h) - shifted_slope(-h)) / (2 * h)
    assert exact.curvature == pytest.approx(difference, rel=1e-3)


def test_gradient_checkpointing_recomputes_layers_and_changes_no_number(
    small_bench, small_target, monkeypatch
):
    """The engine unlearns in eval mode; checkpointing must still act there (each layer's
    forward runs again in the backward pass) and leave the history unchanged."""
    from transformers.models.gpt2 import modeling_gpt2

    from nbutils.engine import lm

    calls = []
    forward = modeling_gpt2.GPT2MLP.forward
    monkeypatch.setattr(
        modeling_gpt2.GPT2MLP,
        "forward",
        lambda self, *a, **k: calls.append(1) or forward(self, *a, **k),
    )

    def one_step(model):
        calls.clear()
        run = lm.unlearn_lm(
            model,
            small_target.tokenizer,
            small_bench,
            "NGDiff",
            steps=1,
            eval_every=None,
            eval_retain=4,
            max_new_tokens=4,
            progress=False,
        )
        return run.history.drop(columns=["seconds"], errors="ignore"), len(calls)

    plain, plain_calls = one_step(small_target.model)
    checkpointed = runtime.gradient_checkpointing(copy.deepcopy(small_target.model))
    history, ck_calls = one_step(checkpointed)
    layers = len(small_target.model.transformer.h)
    assert ck_calls - plain_calls == 2 * layers  # R and F: every layer recomputed once
    assert history.loc[0, "loss_retain"] == plain.loc[0, "loss_retain"]
    assert history.loc[0, "grad_norm_forget"] == pytest.approx(
        plain.loc[0, "grad_norm_forget"], rel=1e-6
    )


def test_paper_target_settings_keep_checkpointing_on_the_cached_target(small_bench, tmp_path):
    settings = replace(presets.SMOKE_TARGET, max_epochs=1, gradient_checkpointing=True)
    for expect_cached in (False, True):
        target = targets.train_target(
            small_bench, settings=settings, cache_dir=tmp_path, progress=False
        )
        assert target.from_cache is expect_cached and target.model.is_activation_checkpointing
    assert presets.PAPER_TARGET.gradient_checkpointing


def test_verbmem_on_the_offline_biographies(small_bench, small_target):
    tok = small_target.tokenizer
    probes = verbmem.passage_probes(
        tok, small_bench.forget_passages, prompt_tokens=8, continuation_tokens=16
    )
    assert len(probes) == len(small_bench.forget_passages)
    first = tok(small_bench.forget_passages[0].text, add_special_tokens=False)["input_ids"]
    assert probes[0].prompt == tok.decode(first[:8])
    assert probes[0].continuation == tok.decode(first[8:24])
    scores = verbmem.verbmem(small_target.model, tok, probes, max_new_tokens=16)
    assert 0 <= scores["verbmem_recall"] <= 1 and 0 <= scores["verbmem_f1"] <= 1
    assert len(scores["generations"]) == len(probes)


def test_verbmem_scores_a_perfect_continuation_as_one(monkeypatch, small_target):
    probes = [
        verbmem.Probe("the start of", "a passage that goes on"),
        verbmem.Probe("another", "text entirely"),
    ]
    truth = {p.prompt: p.continuation for p in probes}
    monkeypatch.setattr(
        verbmem, "generate", lambda m, t, prompts, **kw: [truth[p] for p in prompts]
    )
    scores = verbmem.verbmem(None, None, probes)
    assert scores["verbmem_recall"] == 1.0 and scores["verbmem_f1"] == 1.0


def test_text_files_and_muse_style_json(tmp_path):
    (tmp_path / "t.txt").write_text("First passage\nspans lines.\n\nSecond one.\n\n\n")
    passages = verbmem.text_file_passages(tmp_path / "t.txt")
    assert [p.text for p in passages] == ["First passage spans lines.", "Second one."]
    (tmp_path / "m.json").write_text('[{"prompt": "p1", "gt": "g1"}, {"prompt": "p2", "gt": "g2"}]')
    assert verbmem.hub_probes(str(tmp_path / "m.json")) == [
        verbmem.Probe("p1", "g1"),
        verbmem.Probe("p2", "g2"),
    ]
    with pytest.raises(ValueError, match="longer than"):
        verbmem.passage_probes(lambda text, **kw: {"input_ids": [1, 2]}, ["ab"], prompt_tokens=5)


def _nbutils_commands(workflow: dict) -> list[str]:
    runs = [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]
    return [line for run in runs for line in run.splitlines() if "-m nbutils" in line]


def _planned(workflow: dict) -> list[list[tuple]]:
    """Each nbutils command of a workflow, checked by the CLI's own parser and planner
    (no notebook runs): the list of (entry, values) it would run."""
    default = workflow.get("on", workflow.get(True, {}))
    inputs = (default or {}).get("workflow_dispatch", {}).get("inputs", {})
    plans = []
    for line in _nbutils_commands(workflow):
        for key, spec in inputs.items():
            line = line.replace("${{ inputs." + key + " }}", spec["default"])
        argv = shlex.split(line.split("-m nbutils", 1)[1])
        parser_args = cli.build_parser().parse_args(argv)  # SystemExit on unknown options
        overrides = {k: running.parse_value(v) for k, v in parser_args.param}
        if parser_args.smoke:
            overrides["smoke"] = True
        names = list(catalog.NOTEBOOKS) if parser_args.notebook == "all" else [parser_args.notebook]
        plans.append(running.plan(names, {**overrides, "out_dir": "x"}))
    return plans


@pytest.mark.parametrize("name", ["tests.yml", "paper-scale.yml", "gpu-smoke.yml"])
def test_workflows_are_valid_yaml_and_call_existing_commands(name, monkeypatch):
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    assert workflow["jobs"]
    makefile = (ROOT / "Makefile").read_text()
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            for target in re.findall(r"\bmake (\w+)", step.get("run", "")):
                assert re.search(rf"^{target}:", makefile, re.M), f"make {target} is not defined"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)  # the GPU runner has CUDA
    plans = _planned(workflow)
    if name == "paper-scale.yml":
        assert any(values.get("scale") == "paper" for plan in plans for _, values in plan)


def test_gpu_workflow_runs_every_notebook_at_smoke_size_on_cuda_and_the_paper_smoke(
    monkeypatch,
):
    """The GPU CI calls the same CLI as the CPU one: every notebook at smoke size with
    device=cuda, then the paper-scale smoke, on every push."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "gpu-smoke.yml").read_text())
    on = workflow.get("on", workflow.get(True))
    assert "push" in on
    assert all(
        "gpu" in job["runs-on"] and "self-hosted" in job["runs-on"]
        for job in workflow["jobs"].values()
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    plans = _planned(workflow)
    everywhere = [
        plan
        for plan in plans
        if {e.stem for e, _ in plan} == set(catalog.NOTEBOOKS)
        and all(v["smoke"] and v["device"] == "cuda" for _, v in plan)
    ]
    assert len(everywhere) == 2
    assert [any(v.get("scale") == "paper" for _, v in plan) for plan in everywhere] == [False, True]
