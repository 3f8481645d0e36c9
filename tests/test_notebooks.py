"""Every notebook keeps the notebook contract and runs through papermill at smoke size."""

import json
import math
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from nbutils.core import paths
from nbutils.reproduce import catalog, cli, sidecars

NOTEBOOKS = sorted(paths.notebooks_dir().glob("*.ipynb"))
README = (paths.REPO_DIR / "README.md").read_text()


def test_catalog_and_notebook_folder_agree():
    assert sorted(nb.stem for nb in NOTEBOOKS) == sorted(catalog.NOTEBOOKS)


@pytest.mark.parametrize("stem", sorted(catalog.NOTEBOOKS))
def test_notebook_contract(stem):
    path = paths.notebooks_dir() / f"{stem}.ipynb"
    cells = nbformat.read(path, as_version=4).cells
    assert cells[0].cell_type == "markdown" and cells[0].source.startswith("# ")
    tagged = [c for c in cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    declared = pm.inspect_notebook(str(path))
    assert set(declared) == set(catalog.entry(stem).params)
    assert all(
        not c.get("outputs") and not c.get("execution_count")
        for c in cells
        if c.cell_type == "code"
    ), "committed without outputs"
    following = cells[cells.index(tagged[0]) + 1]
    assert f'nbu.setup("{stem}"' in following.source, "validation cell right after parameters"
    assert stem in README


@pytest.mark.notebook
@pytest.mark.parametrize("stem", sorted(catalog.NOTEBOOKS))
def test_notebook_runs_at_smoke_size(stem, tmp_path):
    assert (
        cli.main(
            ["run", stem, "--smoke", "--out", str(tmp_path), "--build", str(tmp_path / "build")]
        )
        == 0
    )
    assert (tmp_path / "build" / f"{stem}.ipynb").exists()
    for figure in catalog.entry(stem).figures:
        assert (tmp_path / f"{figure}.png").exists() and (tmp_path / f"{figure}.pdf").exists()
        sidecar = json.loads(Path(tmp_path / f"{figure}.json").read_text())
        assert set(sidecar) == {"figure", "notebook", "params", "data", "claims", "provenance"}
        assert sidecar["notebook"] == stem and sidecar["params"]["smoke"] is True
        assert sidecar["claims"], "a figure states what it measured"
        for name, value in sidecars.leaves(sidecar["claims"]):
            no_interval = value is None and name.endswith((".low", ".high"))  # the note says why
            assert (
                no_interval
                or isinstance(value, (bool, str))
                or (isinstance(value, (int, float)) and math.isfinite(value))
            ), f"claim {name}={value}"
