"""Comparing two folders of sidecars, value by value."""

import json
import math

import pytest

from nbutils.reproduce import cli, sidecars


def _write(folder, name, claims, data=None):
    folder.mkdir(parents=True, exist_ok=True)
    sidecar = {"figure": name, "claims": claims, "data": data or {}, "params": {}}
    (folder / f"{name}.json").write_text(json.dumps(sidecar))


def test_leaves_name_every_scalar_by_its_path():
    tree = {"a": {"b": 1, "c": [True, {"d": "x"}]}, "e": None}
    assert dict(sidecars.leaves(tree)) == {"a.b": 1, "a.c.0": True, "a.c.1.d": "x", "e": None}


@pytest.mark.parametrize(
    ("a", "b", "rel_tol", "same"),
    [
        (1, 1.0, 0.0, True),
        (0.3, 0.1 + 0.2, 0.0, False),
        (0.3, 0.1 + 0.2, 1e-12, True),
        (1.0, 1.1, 0.05, False),
        (float("nan"), float("nan"), 0.0, True),
        (True, 1, 0.0, False),  # a verdict is not a number
        ("holds", "holds", 0.0, True),
        (None, 0.0, 0.0, False),
    ],
)
def test_same_value(a, b, rel_tol, same):
    assert sidecars.same_value(a, b, rel_tol) is same


def test_differences_lists_moved_added_and_missing_values(tmp_path):
    before, after = tmp_path / "before", tmp_path / "after"
    _write(before, "fig1", {"ratio": 0.5, "verdict": "holds", "gone": 1})
    _write(after, "fig1", {"ratio": 0.5, "verdict": "fails", "new": 2})
    _write(before, "fig2", {"x": [1.0, 2.0]}, data={"y": 3})
    _write(after, "fig2", {"x": [1.0, 2.0 + 1e-13]}, data={"y": 4})
    _write(after, "fig3", {"z": 0})
    moved, compared = sidecars.differences(before, after)
    assert compared == 4 + 2  # fig1: ratio, verdict, gone, new; fig2: x.0, x.1
    assert moved.to_dict("records") == [
        {"figure": "fig1", "path": "gone", "before": 1, "after": None},
        {"figure": "fig1", "path": "new", "before": None, "after": 2},
        {"figure": "fig1", "path": "verdict", "before": "holds", "after": "fails"},
        {"figure": "fig2", "path": "x.1", "before": 2.0, "after": 2.0 + 1e-13},
        {"figure": "fig3", "path": "(sidecar)", "before": None, "after": "present"},
    ]
    loose, _ = sidecars.differences(before, after, rel_tol=1e-9)
    assert "x.1" not in set(loose.path)
    data, compared = sidecars.differences(before, after, part="data")
    assert compared == 1 and data.path.tolist() == ["y", "(sidecar)"]
    timed, compared = sidecars.differences(before, after, ignore=r"^verdict$|^x\.")
    assert compared == 3 and timed.path.tolist() == ["gone", "new", "(sidecar)"]
    with pytest.raises(ValueError, match="not a regular expression"):
        sidecars.differences(before, after, ignore="(")


def test_compare_command_exits_1_on_a_difference_and_0_on_none(tmp_path, capsys):
    _write(tmp_path / "a", "fig", {"v": math.pi})
    _write(tmp_path / "b", "fig", {"v": math.pi})
    assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    assert "0 of 1 claims values differ" in capsys.readouterr().out
    _write(tmp_path / "b", "fig", {"v": 3.0})
    assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    out = capsys.readouterr().out
    assert "fig: 1 differ" in out and f"v: {math.pi!r} -> 3.0" in out
    (tmp_path / "b" / "fig.json").unlink()  # and a number beside it in the same column:
    _write(tmp_path / "a", "fig2", {"w": 1.0})
    _write(tmp_path / "b", "fig2", {"w": 2.0})
    assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert "(sidecar): 'present' -> None" in capsys.readouterr().out


def test_bad_folder_or_part_is_a_clear_error(tmp_path, capsys):
    assert cli.main(["compare", str(tmp_path / "none"), str(tmp_path)]) == 2
    assert "is not a folder of sidecars" in capsys.readouterr().err
    with pytest.raises(ValueError, match="part must be one of"):
        sidecars.differences(tmp_path, tmp_path, part="figure")


def test_an_unreadable_sidecar_is_one_line_naming_it(tmp_path, capsys):
    _write(tmp_path / "a", "fig", {"v": 1.0})
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "fig.json").write_text('{"claims": ')
    assert cli.main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {tmp_path / 'b' / 'fig.json'}: not readable JSON")
    assert err.count("\n") == 1
