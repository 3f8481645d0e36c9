"""The package reads in layers: imports only go down, and no module imports itself back.

core <- stats <- engine <- claims <- studies <- notebook plumbing (``nbutils/reproduce/``).
Every import counts, also one made inside a function. Plotting and the notebook session
live above the engine: nothing in core, stats or engine draws or opens a session. The
package root holds only the layers' folders (and ``stats.py``), the plumbing folder and
``__init__``/``__main__``; no module is longer than a reader can hold (450 lines).
"""

import ast
from pathlib import Path

import pytest

from nbutils.core import paths

PACKAGE = paths.PACKAGE_DIR
LAYERS = {"core": 0, "stats": 1, "engine": 2, "claims": 3, "studies": 4}
PLUMBING = 5  # nbutils/reproduce/: session, params, presets, catalog, figures, cli, ...
MAX_LINES = 450
PLOTTING = ("matplotlib", "seaborn")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    parts = module.split(".")
    return LAYERS.get(parts[1], PLUMBING) if len(parts) > 1 else PLUMBING


def imports(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (package-relative imports resolved)."""
    tree = ast.parse(path.read_text())
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            stem = ".".join([*base, node.module] if node.module else base)
            out.add(stem)
            out |= {f"{stem}.{alias.name}" for alias in node.names}
    return out


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
GRAPH = {
    name: {m for m in imports(path) if m in MODULES and m != name} for name, path in MODULES.items()
}


def test_the_graph_is_read():
    assert "nbutils.engine.loop" in GRAPH["nbutils.engine.unlearner"]
    assert "nbutils.core.metrics" in GRAPH["nbutils.engine.lm"]
    assert layer("nbutils.engine.loop") == 2 and layer("nbutils.reproduce.session") == PLUMBING


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_imports_only_go_down(name):
    # a package's own __init__ and its ancestors' run on any import from it: not an arrow
    related = lambda m: name == "nbutils" or m.startswith(name + ".") or name.startswith(m + ".")  # noqa: E731
    upward = sorted(m for m in GRAPH[name] if layer(m) > layer(name) and not related(m))
    assert not upward, f"{name} (layer {layer(name)}) imports upward: {upward}"


@pytest.mark.parametrize("name", sorted(n for n in GRAPH if layer(n) <= LAYERS["engine"]))
def test_core_stats_and_engine_neither_plot_nor_open_sessions(name):
    found = imports(MODULES[name])
    assert not {m for m in found if m.split(".")[0] in PLOTTING}, f"{name} imports plotting"
    assert not {m for m in found if m.startswith("nbutils.reproduce")}


def test_stats_stands_alone():
    own = [n for n in MODULES if n == "nbutils.stats" or n.startswith("nbutils.stats.")]
    found = {m for n in own for m in imports(MODULES[n]) if m.startswith("nbutils")}
    assert len(own) > 1 and not {m for m in found if not m.startswith("nbutils.stats")}


def test_no_import_cycles():
    """Depth-first search over the module graph (package __init__ files that only hand
    names on are left out: importing ``nbutils`` imports everything by design)."""
    graph = {k: {m for m in v if not MODULES[m].name == "__init__.py"} for k, v in GRAPH.items()}
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def test_a_planted_cycle_is_found(monkeypatch):
    """The cycle check can fail: a fake upward import from core closes a loop."""
    planted = {k: set(v) for k, v in GRAPH.items()}
    planted["nbutils.core.batches"].add("nbutils.engine.loop")
    planted["nbutils.engine.loop"].add("nbutils.core.batches")
    monkeypatch.setattr(__import__(__name__), "GRAPH", planted)
    with pytest.raises(AssertionError, match="import cycle"):
        test_no_import_cycles()
    with pytest.raises(AssertionError, match="imports upward"):
        test_imports_only_go_down("nbutils.core.batches")


def test_the_plumbing_folder_is_imported_by_no_layer():
    layers = [name for name in GRAPH if layer(name) < PLUMBING]
    assert "nbutils.studies.style" in layers and "nbutils.core.paths" in layers
    importers = sorted(
        n for n in layers if any(m.startswith("nbutils.reproduce") for m in GRAPH[n])
    )
    assert not importers, f"layers import the notebook plumbing: {importers}"


def test_the_package_root_holds_the_layers_the_plumbing_and_nothing_else():
    allowed = {"__init__.py", "__main__.py", "stats.py", "claims.py", "core", "stats",
               "engine", "claims", "studies", "reproduce", "__pycache__"}  # fmt: skip
    assert {p.name for p in PACKAGE.iterdir()} <= allowed


def test_no_module_is_longer_than_a_reader_can_hold():
    long = {n: len(p.read_text().splitlines()) for n, p in MODULES.items()}
    assert not {n: k for n, k in long.items() if k > MAX_LINES}
