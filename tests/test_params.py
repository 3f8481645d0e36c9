"""Parameter validation and the command line (issue 2, item 7)."""

import sys
from pathlib import Path

import pytest
import torch

from nbutils.engine import executor
from nbutils.reproduce import catalog, cli, params, running
from nbutils.reproduce.session import setup

COMMON = dict(
    seed=0,
    smoke=True,
    device="cpu",
    model="tiny",
    dataset="authors",
    dtype="float32",
    scale="default",
    out_dir="x",
    verdicts_only=False,
)  # the parameters every notebook declares
TOUR = {**COMMON, "n_authors": 10}


def test_unknown_notebook_is_named():
    with pytest.raises(ValueError, match=r"unknown notebook '99_nothing'"):
        catalog.entry("99_nothing")


def test_notebook_found_by_stem_file_or_number():
    assert catalog.entry("00_tour.ipynb").stem == catalog.entry("00").stem == "00_tour"


def test_undeclared_parameter_is_named():
    with pytest.raises(ValueError, match=r"does not declare parameter\(s\) \['learning_rate'\]"):
        setup("00_tour", **TOUR, learning_rate=0.1)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("seed", -1, "at least 0"),
        ("seed", 1.5, "must be int"),
        ("smoke", "yes", "must be bool"),
        ("device", "cuda", "CUDA"),
        ("device", "gpu9", "not a torch device"),
        ("dataset", "imagenet", "'authors', 'tofu'"),
        ("n_authors", 1, "at least 2"),
    ],
)
def test_bad_values_are_rejected_with_the_parameter_named(name, value, message, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ValueError, match=f"parameter {name}="):
        setup("00_tour", **{**TOUR, name: value})
    with pytest.raises(ValueError, match=message):
        setup("00_tour", **{**TOUR, name: value})


def test_open_interval_check():
    check = params.Param(float, params.open_interval(0, 1))
    assert check.problem(0.5) is None and "(0, 1)" in check.problem(1.0)
    assert check.problem(True) is not None  # a bool is not a number here


def test_cli_parses_literals():
    assert running.parse_value("3") == 3 and running.parse_value("True") is True
    assert (
        running.parse_value("0.5") == 0.5
        and running.parse_value("microsoft/phi-1_5") == "microsoft/phi-1_5"
    )


def test_cli_takes_a_relative_model_or_dataset_folder_from_where_it_runs(monkeypatch):
    monkeypatch.chdir(Path(__file__).parent)
    args = cli.build_parser().parse_args(
        ["run", "00_tour", "-p", "dataset", "fixtures/tofu", "-p", "model", "tiny"]
    )
    overrides = running.overrides_of(args, "out")
    assert overrides["dataset"] == str(Path(__file__).parent / "fixtures" / "tofu")
    assert overrides["model"] == "tiny"  # no such folder here: a name, kept as given


def test_cli_rejects_unknown_notebook_before_any_work(capsys):
    assert cli.main(["run", "99_nothing"]) == 2
    assert "unknown notebook '99_nothing'" in capsys.readouterr().err


def test_cli_rejects_undeclared_parameter_before_any_work(capsys):
    assert cli.main(["run", "00_tour", "-p", "learning_rate", "0.1"]) == 2
    assert "learning_rate" in capsys.readouterr().err


def test_cli_rejects_bad_value_before_any_work(capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert cli.main(["run", "00_tour", "-p", "device", "cuda"]) == 2
    assert "device='cuda'" in capsys.readouterr().err


def test_cli_all_rejects_a_parameter_no_notebook_declares(capsys):
    assert cli.main(["run", "all", "-p", "no_such", "1"]) == 2
    assert "no_such" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--out", "--build"])
def test_cli_run_names_a_folder_it_cannot_make_before_any_work(flag, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(cli, "run_all", lambda *a: pytest.fail("a notebook ran"))
    blocker = tmp_path / "a file"
    blocker.write_text("")
    for folder, why in ((blocker / "sub", "cannot be made"), (blocker, "not a folder")):
        assert cli.main(["run", "00_tour", "--smoke", flag, str(folder)]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {flag} {folder}: {why}") and err.count("\n") == 1


def test_cli_list_names_every_notebook_and_figure(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for e in catalog.NOTEBOOKS.values():
        assert e.stem in out and all(f in out for f in e.figures)


def test_a_failing_notebook_is_reported_with_its_cell(tmp_path, monkeypatch):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# broken"),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("raise RuntimeError('boom')"),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, tmp_path / "99_broken.ipynb")
    monkeypatch.setattr(cli.paths, "notebooks_dir", lambda: tmp_path)
    broken = catalog.Entry("99_broken", "", (), {"x": params.Param(int)})
    expected = r"notebook 99_broken failed in cell 3 \(\"raise RuntimeError\('boom'\)\"\): .*boom"
    with pytest.raises(RuntimeError, match=expected):
        running.run_notebook(broken, {"x": 1}, tmp_path / "build")


@pytest.mark.parametrize("name, value", [("dtype", "float8"), ("scale", "huge")])
def test_dtype_and_scale_are_checked(name, value):
    with pytest.raises(ValueError, match=f"parameter {name}="):
        setup("00_tour", **{**TOUR, name: value})


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux only")
def test_provenance_records_the_peak_resident_memory():
    import resource

    provenance = setup("00_tour", **TOUR).provenance()
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB
    assert 0 < provenance["peak_rss_mb"] <= kib / 1024 + 0.1
    assert provenance["peak_rss_mb"] > 50  # this process has imported torch: tens of MiB at least
    assert provenance["cuda_peak_memory_mb"] is None  # a CPU session has no GPU peak


def test_provenance_records_what_makes_a_run_bit_identical():
    provenance = setup("00_tour", **TOUR).provenance()
    assert provenance["torch_threads"] == torch.get_num_threads()
    assert provenance["torch_build"].startswith(torch.__version__)
    assert provenance["cpu"] and provenance["cores"] >= 1


def test_provenance_records_the_runs_computed_and_read_from_the_cache(monkeypatch):

    monkeypatch.setattr(executor.LEDGER, "computed", 3)
    monkeypatch.setattr(executor.LEDGER, "from_cache", 5)
    provenance = setup("00_tour", **TOUR).provenance()
    assert provenance["runs"]["computed"] == 3 and provenance["runs"]["from_cache"] == 5


LM_COMPARE = dict(
    **COMMON,
    retune=False,
    n_seeds=1,
    optimizers=["adam", "sgd"],
)


@pytest.mark.parametrize(
    "value, message",
    [
        (["adam", "rmsprop"], "among \\['adam', 'sgd'\\]"),
        ([], "at least one"),
        (["adam", "adam"], "not repeat"),
        (["sgd"], "must include 'adam'"),
        ("adam", "must be list"),
    ],
)
@pytest.mark.parametrize(
    "notebook, extra",
    [("06_method_comparison", {}), ("02_pareto_sweep", {"n_c": 5, "n_refine": 1})],
)
def test_optimizers_are_checked_before_any_work(notebook, extra, value, message):
    with pytest.raises(ValueError, match=f"parameter optimizers=.*{message}"):
        setup(notebook, **{**LM_COMPARE, **extra, "optimizers": value})
    setup(notebook, **{**LM_COMPARE, **extra, "optimizers": ["adam"]})  # fine


def test_refinement_rounds_are_checked():
    with pytest.raises(ValueError, match="parameter n_refine=-1 must be at least 0"):
        setup("02_pareto_sweep", **{**LM_COMPARE, "n_c": 5, "n_refine": -1})


MOMENTUM = dict(
    **COMMON,
    retune=False,
    n_seeds=2,
    n_replicas=100,
    sim_steps=10,
    retain_lr=1e-3,
    forget_lrs=[1e-3, 3e-3],
    schedules=["1:5", "1:1"],
    schemes=["alternate", "dualoptim", "dualoptim+"],
)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("retain_lr", 0.0, "must be > 0"),
        ("retain_lr", -1e-4, "must be > 0"),
        ("retain_lr", "1e-3", "must be float"),
        ("forget_lrs", [1e-3, 0.0], "item 0.0 must be > 0"),
        ("forget_lrs", [], "must not be empty"),
        ("forget_lrs", ["1e-3"], "must hold numbers"),
        ("forget_lrs", 1e-3, "must be list"),
        ("schedules", ["1:0"], "must be positive"),
        ("schedules", ["0:5"], "must be positive"),
        ("schedules", ["1-5"], "'T_f:T_r'"),
        ("schedules", ["1:5", "1:5"], "repeated"),
        ("schedules", [], "must not be empty"),
        ("schemes", ["alternate", "adam"], "unknown scheme"),
        ("schemes", ["dualoptim"], "must include 'alternate'"),
        ("schemes", ["alternate", "alternate"], "repeated"),
    ],
)
def test_momentum_parameters_are_checked(name, value, message):
    with pytest.raises(ValueError, match=f"parameter {name}="):
        setup("07_momentum_variance", **{**MOMENTUM, name: value})
    with pytest.raises(ValueError, match=message):
        setup("07_momentum_variance", **{**MOMENTUM, name: value})


def test_momentum_parameters_pass_when_good():
    assert setup("07_momentum_variance", **MOMENTUM).params["schedules"] == ["1:5", "1:1"]
