"""save_figure and its JSON sidecar (issue 2, item 6)."""

import json
import math
from importlib import metadata

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from nbutils import figures

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
