"""save_figure and its JSON sidecar (issue 2, item 6); the commit it records (issue 25)."""

import json
import math
import shutil
import subprocess
from importlib import metadata

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from nbutils.core import paths
from nbutils.reproduce import figures

SCHEMA = {"figure", "notebook", "params", "data", "claims", "provenance"}


@pytest.fixture
def fig():
    f, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    yield f
    plt.close(f)


def test_save_figure_writes_png_pdf_and_sidecar(fig, tmp_path):
    out = figures.save_figure(
        fig,
        "demo",
        data={"x": np.arange(3)},
        claims={"share": 0.5},
        params={"seed": 1},
        out_dir=tmp_path,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.json", "demo.pdf", "demo.png"]
    assert out["png"].read_bytes()[:4] == b"\x89PNG" and out["pdf"].read_bytes()[:4] == b"%PDF"
    sidecar = json.loads(out["json"].read_text())
    assert set(sidecar) == SCHEMA
    assert sidecar["data"] == {"x": [0, 1, 2]} and sidecar["claims"] == {"share": 0.5}
    assert sidecar["params"] == {"seed": 1}
    assert {"git_commit", "versions", "created"} <= set(sidecar["provenance"])
    assert sidecar["provenance"]["versions"]["torch"] == metadata.version("torch")


def test_png_resolution_is_at_least_150_dpi(fig, tmp_path):
    from PIL import Image

    figures.save_figure(fig, "dpi", data={}, out_dir=tmp_path)
    dpi = Image.open(tmp_path / "dpi.png").info["dpi"][0]
    assert dpi >= 150


def test_sidecar_turns_nan_into_null_and_tables_into_columns(fig, tmp_path):
    table = pd.DataFrame({"a": [1.0, math.nan], "b": ["x", "y"]})
    out = figures.save_figure(
        fig, "nan", data={"t": table, "v": torch.tensor([1.5, math.inf])}, out_dir=tmp_path
    )
    sidecar = json.loads(out["json"].read_text())
    assert sidecar["data"] == {"t": {"a": [1.0, None], "b": ["x", "y"]}, "v": [1.5, None]}


def test_sidecar_rejects_what_json_cannot_hold(fig, tmp_path):
    with pytest.raises(TypeError, match="JSON"):
        figures.save_figure(fig, "bad", data={"f": object()}, out_dir=tmp_path)
    assert not list(tmp_path.iterdir())  # the sidecar is checked before any file is written


def test_no_temporary_files_are_left(fig, tmp_path):
    figures.save_figure(fig, "clean", data={}, out_dir=tmp_path)
    figures.save_figure(fig, "clean", data={}, out_dir=tmp_path)  # overwrite in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clean.json", "clean.pdf", "clean.png"]


def _git(repo, *args):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git checkout with code, figures/ and a README, committed; nbutils pointed at it."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "fig.json").write_text("{}\n")
    (tmp_path / "README.md").write_text("intro\n<!-- scorecard:start -->\nold\n")
    (tmp_path / "code.py").write_text("x = 1\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "one")
    monkeypatch.setattr(paths, "REPO_DIR", tmp_path)
    return tmp_path


def test_git_commit_ignores_what_make_figures_rewrites(repo):
    """figures/ (with figures/draws/) and the README's generated block: a `make figures`
    at a clean commit marks every sidecar with that commit."""
    head = _git(repo, "rev-parse", "HEAD")
    assert figures.git_commit() == head
    (repo / "figures" / "fig.json").write_text('{"new": 1}\n')
    (repo / "figures" / "draws" / "draw-1").mkdir(parents=True)
    (repo / "figures" / "draws" / "draw-1" / "fig.json").write_text("{}\n")
    (repo / "README.md").write_text("intro\n<!-- scorecard:start -->\nnew table\n")
    (repo / "untracked.py").write_text("y = 2\n")
    assert figures.git_commit() == head
    _git(repo, "add", "figures", "README.md")  # staged, too
    assert figures.git_commit() == head


@pytest.mark.parametrize("stage", [False, True])
def test_git_commit_marks_any_other_change_dirty(repo, stage):
    (repo / "code.py").write_text("x = 2\n")
    if stage:
        _git(repo, "add", "code.py")
    assert figures.git_commit() == _git(repo, "rev-parse", "HEAD") + "+dirty"


def test_git_commit_is_none_outside_git(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "REPO_DIR", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert figures.git_commit() is None
