"""The scorecard: claims pooled over benchmark draws, failed draws reported, clear errors;
only complete, same-commit, full-size draws pooled; a scorecard never replaced by one that
rests on less without --force; a figures folder checked as one clean release."""

import json

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nbutils import claims  # noqa: E402
from nbutils.core import paths  # noqa: E402
from nbutils.reproduce import card_command, catalog, cli, scorecard  # noqa: E402

FORGETS = "ngdiff.table1.ngdiff_autolr_forgets.adam"
GDIFF09 = "ngdiff.table1.gdiff09_fails_to_forget.adam"
NB06 = "06_method_comparison"
COMMIT = "c0ffee" * 6 + "beef"
FIGURES_06 = catalog.entry("06").figures
AUTOLR_FORGETS = "ngdiff.fig5.autolr_forgets.adam"  # notebook 04's
NB04 = "04_lr_sensitivity"
DEFAULT_PLAN_DRAWS = scorecard.draws_text(
    scorecard.plan_draws(scorecard.draw_plan(list(catalog.NOTEBOOKS)))
)


def write_sidecars(
    folder, draw: int, values: dict[str, list[float]], commit=COMMIT, smoke=False, stem=NB06
):
    """Sidecars of notebook ``stem`` (06) as a draw would leave them, with the given runs
    (in the first figure's sidecar) and provenance."""
    measurements = pd.concat(
        [claims.measurement(cid, draw, v, seeds=range(len(v))) for cid, v in values.items()]
    )
    verdicts = claims.evaluate(measurements)
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(catalog.entry(stem).figures):
        ids = list(values) if i == 0 else []
        sidecar = {
            "claims": claims.for_sidecar(verdicts, measurements, ids),
            "provenance": {"seed": draw, "smoke": smoke, "git_commit": commit},
        }
        (folder / f"{name}.json").write_text(json.dumps(sidecar))


def collect_draws(folders: dict, failed: dict, smoke=False):
    """``collect`` of notebook 06 on each draw (draw -> folder), then ``pool_one_commit``."""
    per_draw = []
    for draw, folder in folders.items():
        failed.setdefault(draw, {})
        per_draw.append(scorecard.collect(draw, folder, [NB06], failed[draw], smoke=smoke))
    return scorecard.pool_one_commit(per_draw, failed)


def test_claims_are_pooled_over_draws_with_draws_as_a_random_effect(tmp_path):
    low, high = [0.01, 0.015, 0.02], [0.5, 0.45, 0.55]
    write_sidecars(tmp_path / "d0", 0, {FORGETS: low, GDIFF09: [0.9, 0.8, 0.7]})
    write_sidecars(tmp_path / "d1", 1, {FORGETS: high, GDIFF09: [0.9, 0.9, 0.9]})
    write_sidecars(tmp_path / "d2", 2, {FORGETS: low, GDIFF09: [0.85, 0.85, 0.85]})
    per_draw = [
        scorecard.collect(d, tmp_path / f"d{d}", ["06_method_comparison"], {}) for d in (0, 1, 2)
    ]
    rows = {r["id"]: r for r in scorecard.build(per_draw, [FORGETS, GDIFF09], [0, 1, 2], {})}
    forgets = rows[FORGETS]
    assert forgets["draws"][0]["verdict"] == "holds" and forgets["draws"][1]["verdict"] == "fails"
    assert forgets["pooled"]["n_draws"] == 3 and forgets["pooled"]["n_runs"] == 9
    assert forgets["pooled"]["value"] == pytest.approx((0.015 + 0.5 + 0.015) / 3)
    assert forgets["pooled"]["interval"] == "calibrated t, 3 draw means"
    assert forgets["pooled"]["verdict"] != "holds"  # draw 1 overturns draws 0 and 2
    assert rows[GDIFF09]["pooled"]["verdict"] == "holds"
    assert forgets["draws"][0]["note"] == ""  # a draw's own cell need not say "one draw"


def test_a_failed_draw_is_reported_and_the_others_kept(tmp_path):
    write_sidecars(tmp_path / "d0", 0, {FORGETS: [0.01, 0.011]})
    failed = {0: {}, 1: {"06_method_comparison": "notebook 06 failed in cell 7"}}
    per_draw = [scorecard.collect(0, tmp_path / "d0", ["06_method_comparison"], failed[0])]
    per_draw.append(scorecard.collect(1, tmp_path / "nowhere", ["06_method_comparison"], failed[1]))
    (row,) = scorecard.build(per_draw, [FORGETS], [0, 1], failed)
    assert row["draws"][1] == {"failed": "notebook 06 failed in cell 7"}
    assert row["draws"][0]["verdict"] == "holds" and row["pooled"]["n_draws"] == 1
    # pooled over the one draw left: no interval covers another draw
    assert row["pooled"]["verdict"] == "inconclusive" and row["pooled"]["low"] is None
    text = scorecard.markdown([row], [0, 1])
    assert "failed: notebook 06 failed in cell 7" in text and FORGETS in text
    assert "0.0105 inconclusive (one draw: no interval over draws)" in text


def test_a_claim_its_notebook_did_not_measure_on_a_draw_is_not_a_failure(tmp_path):
    write_sidecars(tmp_path / "d0", 0, {FORGETS: [0.01, 0.02], GDIFF09: [0.9, 0.8]})
    write_sidecars(tmp_path / "d1", 1, {FORGETS: [0.02, 0.01]})  # GDiff-0.9 skipped there
    per_draw = [
        scorecard.collect(d, tmp_path / f"d{d}", ["06_method_comparison"], {}) for d in (0, 1)
    ]
    rows = {r["id"]: r for r in scorecard.build(per_draw, [FORGETS, GDIFF09], [0, 1], {})}
    cell = rows[GDIFF09]["draws"][1]
    assert "not_measured" in cell and scorecard.cell_verdict(cell) == "not run"
    assert scorecard.cell_text(cell) == "not measured"
    assert rows[GDIFF09]["pooled"]["n_draws"] == 1  # pooled over the draw that measured it
    assert "0 not measured" in scorecard.markdown(list(rows.values()), [0, 1])


def test_a_missing_sidecar_marks_its_notebook_failed(tmp_path):
    failures: dict[str, str] = {}
    assert scorecard.collect(2, tmp_path, ["06_method_comparison"], failures).empty
    assert "no sidecar" in failures["06_method_comparison"]
    rows = scorecard.build([pd.DataFrame()], [FORGETS], [2], {2: failures})
    assert "0 holds, 0 fails, 0 inconclusive, 1 not measured" in scorecard.markdown(rows, [2])


def test_a_sidecar_of_another_seed_is_not_taken_for_the_draw(tmp_path):
    write_sidecars(tmp_path, 0, {FORGETS: [0.01, 0.02]})  # left by a run of seed 0
    failures: dict[str, str] = {}
    assert scorecard.collect(1, tmp_path, ["06_method_comparison"], failures).empty
    assert "of seed 0, not of draw 1" in failures["06_method_comparison"]


def test_collect_builds_the_scorecard_from_sidecars_without_running(tmp_path, capsys):
    out = tmp_path / "figures"
    write_sidecars(out, 0, {FORGETS: [0.018, 0.02, 0.022]})
    write_sidecars(out / "draws" / "draw-1", 1, {FORGETS: [0.02, 0.022, 0.018]})
    args = ["scorecard", "--collect", "--claims", FORGETS, "--out", str(out)]
    assert cli.main([*args, "--seeds", "0", "1"]) == 0
    data = json.loads((out / "scorecard.json").read_text())
    (row,) = data["claims"]
    # two draw means of 0.02: their variance floored by the seeds' s^2 / n = 0.002^2 / 3,
    # 0.02 -+ q(2) sqrt(0.002^2 / 3 / 2) = 0.02 -+ 49.0 x 0.000816 = 0.02 -+ 0.04, below 0.1
    assert row["pooled"]["n_draws"] == 2 and row["pooled"]["verdict"] == "holds"
    assert row["pooled"]["high"] == pytest.approx(0.06, abs=1e-3)
    assert data["provenance"]["git_commit"] == COMMIT  # the commit of the sidecars pooled
    # a draw that was never run is reported as not run (not as failed, not dropped); the
    # scorecard it would replace rests on draw 1, so only --force writes it
    assert cli.main([*args, "--seeds", "0", "2", "--force"]) == 1
    assert "replacing a scorecard that rested on more: draw(s) 1" in capsys.readouterr().err
    data = json.loads((out / "scorecard.json").read_text())
    (row,) = data["claims"]
    assert "no sidecar" in row["draws"]["2"]["not_run"] and "failed" not in row["draws"]["2"]
    assert data["not_run"]["2"] and not data["failed"]["2"]
    assert "| not run |" in (out / "scorecard.md").read_text()


def _files(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_collect_refuses_a_build_folder_that_does_not_exist(tmp_path, capsys):
    """The audit's typo: nothing written, neither figures/ nor the README; one line."""
    figures = tmp_path / "figures"  # the session's $NBUTILS_FIGURES stands for figures/
    write_sidecars(figures, 0, {FORGETS: [0.01, 0.02, 0.03]})
    assert cli.main(["scorecard", "--collect", "--claims", FORGETS, "--out", str(figures)]) == 1
    before, readme = _files(figures), (paths.REPO_DIR / "README.md").read_text()
    missing = tmp_path / "nonexistent"
    for out in ([], ["--out", str(figures)]):
        assert cli.main(["scorecard", "--collect", "--build", str(missing), *out]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and f"--build {missing}: no such folder" in err
    assert _files(figures) == before and (paths.REPO_DIR / "README.md").read_text() == readme


def test_collect_refuses_a_folder_without_any_draw(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["scorecard", "--collect", "--out", str(empty)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"no sidecar of draws {DEFAULT_PLAN_DRAWS} in {empty}" in err
    assert not list(empty.iterdir())
    assert cli.main(["scorecard", "--collect", "--out", str(tmp_path / "none")]) == 2
    assert f"{tmp_path / 'none'}: no such folder" in capsys.readouterr().err


def test_a_scorecard_is_not_replaced_by_one_on_fewer_runs_without_force(tmp_path, capsys):
    out = tmp_path / "card"
    write_sidecars(out, 0, {FORGETS: [0.01, 0.02, 0.03]})
    write_sidecars(out / "draws" / "draw-1", 1, {FORGETS: [0.02, 0.03, 0.01]})
    args = ["scorecard", "--collect", "--claims", FORGETS, "--out", str(out), "--seeds", "0", "1"]
    assert cli.main(args) == 0
    capsys.readouterr()
    before = _files(out)
    write_sidecars(out / "draws" / "draw-1", 1, {FORGETS: [0.02]})  # draw 1 with 1 run
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(out / "scorecard.json") in err
    assert f"pooled runs of 1 claim(s) ({FORGETS} 6 -> 4)" in err and "--force" in err
    assert _files(out) == before
    # fewer draws, fewer claims, a smoke scorecard: each refused before anything runs
    for more, lost in (
        (["--seeds", "0"], "draw(s) 1 (measured there, not asked for)"),
        (["--claims", GDIFF09], f"1 claim(s) not asked for ({FORGETS})"),
    ):
        assert cli.main(["scorecard", "--collect", "--out", str(out), *more]) == 2
        assert lost in capsys.readouterr().err
    assert _files(out) == before
    assert cli.main([*args, "--force"]) == 0
    assert json.loads((out / "scorecard.json").read_text())["claims"][0]["pooled"]["n_runs"] == 4


def test_a_smoke_scorecard_does_not_replace_a_full_one(tmp_path, capsys):
    out = tmp_path / "card"
    write_sidecars(out, 0, {FORGETS: [0.01, 0.02, 0.03]})
    args = ["scorecard", "--collect", "--claims", FORGETS, "--out", str(out), "--seeds", "0"]
    assert cli.main(args) == 0
    write_sidecars(out, 0, {FORGETS: [0.01, 0.02, 0.03]}, smoke=True)
    capsys.readouterr()
    assert cli.main([*args, "--smoke"]) == 2
    assert "a full-size scorecard (the new one is smoke size)" in capsys.readouterr().err
    assert json.loads((out / "scorecard.json").read_text())["provenance"]["smoke"] is False


def test_a_partial_draw_is_failed_and_none_of_its_runs_pooled(tmp_path):
    write_sidecars(tmp_path / "d0", 0, {FORGETS: [0.01, 0.02, 0.03]})
    write_sidecars(tmp_path / "d1", 1, {FORGETS: [0.5, 0.4, 0.6, 0.5, 0.4, 0.6, 0.5]})
    (tmp_path / "d1" / f"{FIGURES_06[2]}.json").unlink()  # the runs' sidecar is there
    failed: dict = {}
    per_draw, _ = collect_draws({0: tmp_path / "d0", 1: tmp_path / "d1"}, failed)
    assert failed[1] == {NB06: f"no sidecar {FIGURES_06[2]}.json"}
    assert per_draw[1].empty
    (row,) = scorecard.build(per_draw, [FORGETS], [0, 1], failed)
    assert row["draws"][1] == {"failed": f"no sidecar {FIGURES_06[2]}.json"}
    assert row["pooled"]["n_runs"] == 3 and row["pooled"]["n_draws"] == 1


def test_an_unreadable_sidecar_fails_its_draw(tmp_path):
    write_sidecars(tmp_path, 0, {FORGETS: [0.01, 0.02]})
    (tmp_path / f"{FIGURES_06[1]}.json").write_text('{"claims": {"x"')  # cut short
    failures: dict = {}
    assert scorecard.collect(0, tmp_path, [NB06], failures).empty
    assert failures[NB06].startswith(f"{FIGURES_06[1]}.json is not readable JSON")
    (tmp_path / f"{FIGURES_06[1]}.json").write_text(json.dumps({"claims": {}}))
    failures = {}
    assert scorecard.collect(0, tmp_path, [NB06], failures).empty
    assert failures[NB06] == f"{FIGURES_06[1]}.json has no claims or no provenance"


def test_build_never_pools_a_draw_reported_failed_or_not_run(tmp_path):
    """Even when handed its runs: the leak of issue 25 (a failed draw's 10 of 13 runs)."""
    write_sidecars(tmp_path / "d0", 0, {FORGETS: [0.01, 0.02, 0.03]})
    write_sidecars(tmp_path / "d1", 1, {FORGETS: [0.5] * 10})
    per_draw = [scorecard.collect(d, tmp_path / f"d{d}", [NB06], {}) for d in (0, 1)]
    for failed, not_run in (({1: {NB06: "failed in cell 9"}}, {}), ({}, {1: {NB06: "absent"}})):
        (row,) = scorecard.build(per_draw, [FORGETS], [0, 1], failed, not_run)
        pooled = row["pooled"]
        assert pooled["n_runs"] == 3 and pooled["value"] == pytest.approx(0.02)  # draw 0's only
        assert pooled["note"] == "one draw: no interval over draws"


def test_smoke_sidecars_are_pooled_only_into_a_smoke_scorecard(tmp_path):
    write_sidecars(tmp_path / "d0", 0, {FORGETS: [0.01, 0.02]})
    write_sidecars(tmp_path / "d1", 1, {FORGETS: [0.02, 0.01]}, smoke=True)
    folders = {0: tmp_path / "d0", 1: tmp_path / "d1"}
    failed: dict = {}
    per_draw, _ = collect_draws(folders, failed)
    assert failed[1] == {NB06: f"{FIGURES_06[0]}.json has smoke=True, the scorecard False"}
    assert per_draw[1].empty and len(per_draw[0]) == 2
    failed = {}
    per_draw, _ = collect_draws(folders, failed, smoke=True)
    assert "has smoke=False, the scorecard True" in failed[0][NB06] and len(per_draw[1]) == 2


def test_sidecars_of_another_or_a_dirty_commit_are_not_pooled(tmp_path):
    """The scorecard rests on one commit, the one most notebook-draws record; a draw of
    another commit, of the same commit's dirty tree, or of mixed commits is failed."""
    for draw in (0, 1):
        write_sidecars(tmp_path / f"d{draw}", draw, {FORGETS: [0.01, 0.02]})
    write_sidecars(tmp_path / "d2", 2, {FORGETS: [0.9, 0.8]}, commit="0ther" + COMMIT[5:])
    write_sidecars(tmp_path / "d3", 3, {FORGETS: [0.9, 0.8]}, commit=COMMIT + "+dirty")
    write_sidecars(tmp_path / "d4", 4, {FORGETS: [0.9, 0.8]})
    mixed = tmp_path / "d4" / f"{FIGURES_06[2]}.json"
    mixed.write_text(mixed.read_text().replace(COMMIT, COMMIT + "+dirty"))
    failed: dict = {}
    per_draw, commit = collect_draws({d: tmp_path / f"d{d}" for d in range(5)}, failed)
    assert commit == COMMIT
    assert failed[2] == {NB06: f"its sidecars are of commit 0ther{COMMIT[5:]}, not {COMMIT}"}
    assert failed[3] == {NB06: f"its sidecars are of commit {COMMIT}+dirty, not {COMMIT}"}
    assert failed[4][NB06].startswith("its sidecars are of several commits")
    (row,) = scorecard.build(per_draw, [FORGETS], list(range(5)), failed)
    assert row["pooled"]["n_draws"] == 2 and row["pooled"]["n_runs"] == 4
    assert all("failed" in row["draws"][d] for d in (2, 3, 4))


def test_build_refuses_runs_of_several_commits(tmp_path):
    write_sidecars(tmp_path / "d0", 0, {FORGETS: [0.01, 0.02]})
    write_sidecars(tmp_path / "d1", 1, {FORGETS: [0.01, 0.02]}, commit="other")
    per_draw = [scorecard.collect(d, tmp_path / f"d{d}", [NB06], {}) for d in (0, 1)]
    with pytest.raises(ValueError, match="several commits: pool_one_commit keeps one"):
        scorecard.build(per_draw, [FORGETS], [0, 1], {})


def test_write_produces_json_markdown_png_and_the_readme_block(tmp_path):
    write_sidecars(tmp_path / "d0", 0, {FORGETS: [0.01, 0.02, 0.03]})
    per_draw = [scorecard.collect(0, tmp_path / "d0", ["06_method_comparison"], {})]
    rows = scorecard.build(per_draw, [FORGETS], [0], {})
    table = scorecard.write(tmp_path, rows, [0], {0: {}}, {"wall_time_s": 1.0})
    data = json.loads((tmp_path / "scorecard.json").read_text())
    assert data["claims"][0]["id"] == FORGETS and (tmp_path / "scorecard.png").exists()
    assert (tmp_path / "scorecard.md").read_text().strip() == table.strip()
    readme = tmp_path / "README.md"
    readme.write_text(
        f"intro\n{scorecard.README_START}\nSTALE TABLE\n{scorecard.README_END}\nend\n"
    )
    assert scorecard.update_readme(table, readme)
    assert table in readme.read_text() and "STALE TABLE" not in readme.read_text()
    assert readme.read_text().endswith("end\n")


def test_the_default_draw_writes_next_to_the_scorecard_the_others_in_draws(tmp_path):
    out = tmp_path / "figures"
    assert scorecard.draw_dir(0, out) == out
    assert scorecard.draw_dir(1, out) == out / "draws" / "draw-1"
    assert scorecard.draw_overrides(1, {"smoke": True}) == {
        "smoke": True,
        "seed": 1,
        "verdicts_only": True,
    }
    assert "verdicts_only" not in scorecard.draw_overrides(0, {})


def test_smoke_and_test_runs_write_under_build_not_figures(tmp_path):
    """Without --out, only the official run writes figures/; a smoke one writes
    <build>/scorecard/ (its other draws in <build>/scorecard/draws/)."""
    args = cli.build_parser().parse_args(["scorecard", "--smoke", "--build", str(tmp_path)])
    out, build, official = card_command.card_folders(args, smoke=True)
    assert (out, build, official) == (tmp_path / "scorecard", tmp_path, False)
    args = cli.build_parser().parse_args(["scorecard"])
    assert card_command.card_folders(args, smoke=False) == (
        paths.figures_dir(),
        paths.build_dir(),
        True,
    )


def test_bad_input_gives_a_clear_error(capsys):
    assert cli.main(["scorecard", "--seeds", "0", "-1", "--smoke"]) == 2
    assert "draw seeds must be >= 0" in capsys.readouterr().err
    assert cli.main(["scorecard", "--claims", "ngdiff.no_such_claim", "--smoke"]) == 2
    assert "unknown claim id 'ngdiff.no_such_claim'" in capsys.readouterr().err
    assert cli.main(["scorecard", "--jobs", "0", "--smoke"]) == 2


def test_a_folder_the_scorecard_cannot_make_is_one_line_before_any_work(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(cli, "run_all", lambda *a: pytest.fail("a notebook ran"))
    blocker = tmp_path / "a file"
    blocker.write_text("")
    base = ["scorecard", "--smoke", "--claims", FORGETS, "--out", str(tmp_path / "card")]
    for extra, message in (
        (["--out", str(blocker)], f"--out {blocker}: not a folder"),
        (["--build", str(blocker / "b")], f"--build {blocker / 'b'}: cannot be made"),
    ):
        assert cli.main([*base, *extra]) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"error: {message}") and err.count("\n") == 1


@pytest.mark.notebook
def test_scorecard_runs_for_any_seeds_at_smoke_size(tmp_path):
    """End to end on the cheapest claim (notebook 00) and two draws."""
    claim_id = "ngdiff.sec5_1.no_unlearn_memorizes"
    code = cli.main(
        ["scorecard", "--seeds", "3", "4", "--smoke", "--claims", claim_id, "--jobs", "2"]
        + ["--out", str(tmp_path / "card"), "--build", str(tmp_path / "build")]
    )
    assert code == 0
    data = json.loads((tmp_path / "card" / "scorecard.json").read_text())
    (row,) = data["claims"]
    assert row["id"] == claim_id and set(row["draws"]) == {"3", "4"}
    assert row["pooled"]["n_draws"] == 2
    assert (tmp_path / "card" / "draws" / "draw-4" / "tour_answer_loss.json").exists()


def release(folder, draws=(0, 1)):
    """A figures folder as one clean release of FORGETS: draw 0's sidecars in it, the
    others' in draws/draw-<seed>/, and the scorecard that pools them."""
    for draw in draws:
        write_sidecars(scorecard.draw_dir(draw, folder), draw, {FORGETS: [0.01, 0.02, 0.03]})
    seeds = ["--seeds", *map(str, draws)]
    assert (
        cli.main(["scorecard", "--collect", "--claims", FORGETS, "--out", str(folder), *seeds]) == 0
    )
    return folder


def _edit_provenance(path, **changes):
    data = json.loads(path.read_text())
    data["provenance"].update(changes)
    path.write_text(json.dumps(data))


def test_check_release_passes_one_clean_release(tmp_path):
    folder = release(tmp_path / "figures")
    (folder / "notes.json").write_text("{}")  # a JSON file without provenance is no sidecar
    assert scorecard.check_release(folder) == []


def test_check_release_names_every_problem(tmp_path):
    folder = release(tmp_path / "figures", draws=(0, 1, 2))
    _edit_provenance(folder / f"{FIGURES_06[0]}.json", git_commit=COMMIT + "+dirty")
    _edit_provenance(folder / "draws" / "draw-1" / f"{FIGURES_06[1]}.json", smoke=True)
    _edit_provenance(folder / "draws" / "draw-2" / f"{FIGURES_06[1]}.json", git_commit="other")
    (folder / "draws" / "draw-2" / f"{FIGURES_06[2]}.json").unlink()
    _edit_provenance(folder / "draws" / "draw-1" / f"{FIGURES_06[2]}.json", seed=7)
    write_sidecars(folder / "draws" / "draw-5", 5, {FORGETS: [0.5]})  # not in the scorecard
    problems = scorecard.check_release(folder)
    assert problems[0].startswith(f"sidecars of 3 commits: {COMMIT} (")
    expected = [
        f"figures/{FIGURES_06[0]}.json: not of a clean commit ({COMMIT}+dirty)",
        f"figures/draws/draw-1/{FIGURES_06[1]}.json: smoke=True",
        f"draw 1: figures/draws/draw-1/{FIGURES_06[2]}.json is of seed 7",
        f"draw 2: figures/draws/draw-2/{FIGURES_06[2]}.json missing",
        "figures/draws/draw-5: not a draw of scorecard.json",
    ]
    for line in expected:
        assert line in problems
    assert len(problems) == 1 + len(expected)


def test_check_release_wants_a_scorecard(tmp_path):
    write_sidecars(tmp_path / "figures", 0, {FORGETS: [0.01]})
    assert scorecard.check_release(tmp_path / "figures") == [
        f"{tmp_path / 'figures' / 'scorecard.json'}: missing"
    ]


def test_committed_figures_are_one_clean_release():
    assert scorecard.check_release() == []


def test_a_tie_between_commits_goes_to_the_checkouts_then_to_a_clean_one(tmp_path):
    write_sidecars(tmp_path / "d0", 0, {FORGETS: [0.01]}, commit=COMMIT + "+dirty")
    write_sidecars(tmp_path / "d1", 1, {FORGETS: [0.01]})
    per_draw = [scorecard.collect(d, tmp_path / f"d{d}", [NB06], {}) for d in (0, 1)]
    assert scorecard.pool_one_commit(per_draw, {})[1] == COMMIT
    assert scorecard.pool_one_commit(per_draw, {}, COMMIT + "+dirty")[1] == COMMIT + "+dirty"


# --------------------------------------------------------------------------- draws per notebook


def test_the_default_plan_runs_the_headline_notebooks_on_more_draws():
    stems = ["00_tour", "02_pareto_sweep", NB04, NB06]
    plan = scorecard.draw_plan(stems)
    assert plan["02_pareto_sweep"] == list(scorecard.DEFAULT_DRAWS)
    for stem in (NB04, NB06):  # Table 1, Table 3 and Fig. 4-6
        assert plan[stem] == list(range(scorecard.DRAW_COUNTS[stem]))
        assert len(plan[stem]) > len(scorecard.DEFAULT_DRAWS)
    assert plan["00_tour"] == scorecard.plan_draws(plan)  # it fine-tunes every draw's target
    assert scorecard.draw_plan(stems, [3, 1]) == {stem: [3, 1] for stem in stems}
    assert scorecard.draw_plan(stems, smoke=True) == {stem: [0, 1, 2] for stem in stems}
    with pytest.raises(ValueError, match=">= 0"):
        scorecard.draw_plan(stems, [-1])
    assert scorecard.plan_text({NB04: [0, 1, 2], NB06: [0, 1, 2]}) == "draws 0-2"
    text = scorecard.plan_text({"01": [0, 1, 2], "02": [0, 1, 2], NB06: [0, 1, 2, 3, 5]})
    assert text == f"each notebook's draws (0-2; 0, 1, 2, 3, 5: {NB06})"


def _release_with_a_plan(folder, monkeypatch):
    """Notebook 04 on draws 0-2, 06 on 0-3 (``DRAW_COUNTS`` patched), collected."""
    monkeypatch.setattr(scorecard.pooling, "DRAW_COUNTS", {NB06: 4})
    for draw in range(4):
        write_sidecars(scorecard.draw_dir(draw, folder), draw, {FORGETS: [0.01, 0.02, 0.03]})
    for draw in range(3):
        where = scorecard.draw_dir(draw, folder)
        write_sidecars(where, draw, {AUTOLR_FORGETS: [0.2, 0.3, 0.4]}, stem=NB04)
    args = ["scorecard", "--collect", "--claims", FORGETS, AUTOLR_FORGETS, "--out", str(folder)]
    return cli.main(args)


def test_each_notebook_is_pooled_over_its_own_draws(tmp_path, monkeypatch):
    folder = tmp_path / "figures"
    assert _release_with_a_plan(folder, monkeypatch) == 0  # draw 3 of 04 is no failure
    data = json.loads((folder / "scorecard.json").read_text())
    assert data["draws"] == [0, 1, 2, 3]
    assert data["plan"] == {NB04: [0, 1, 2], NB06: [0, 1, 2, 3]}
    rows = {r["id"]: r for r in data["claims"]}
    assert rows[FORGETS]["pooled"]["n_draws"] == 4
    assert rows[AUTOLR_FORGETS]["pooled"]["n_draws"] == 3
    cell = rows[AUTOLR_FORGETS]["draws"]["3"]
    assert cell == {"not_planned": "draws 0-2 only"}
    assert scorecard.cell_verdict(cell) == "not planned" and scorecard.cell_text(cell) == "-"
    table = (folder / "scorecard.md").read_text()
    first = f"Evidence claims, pooled over each notebook's draws (0-2; 0-3: {NB06})"
    assert table.startswith(first)
    assert f"| `{AUTOLR_FORGETS}`" in table and " | - | " in table
    assert scorecard.check_release(folder) == []


def test_check_release_wants_each_notebooks_own_draws(tmp_path, monkeypatch):
    folder = tmp_path / "figures"
    assert _release_with_a_plan(folder, monkeypatch) == 0
    (folder / "draws" / "draw-3" / f"{FIGURES_06[1]}.json").unlink()
    assert scorecard.check_release(folder) == [
        f"draw 3: figures/draws/draw-3/{FIGURES_06[1]}.json missing"
    ]  # and no 04 sidecar wanted on draw 3, outside its draws


def test_check_release_wants_one_machine(tmp_path):
    folder = release(tmp_path / "figures")
    for where in (folder, folder / "draws" / "draw-1"):
        _edit_provenance(where / f"{FIGURES_06[0]}.json", cpu="AMD EPYC", torch_build="2.13.0+cpu")
    assert scorecard.check_release(folder) == []
    _edit_provenance(folder / f"{FIGURES_06[0]}.json", cpu="Intel(R) Xeon(R) Processor")
    (problem,) = scorecard.check_release(folder)
    assert problem.startswith("sidecars of 2 machines: ")
    assert "AMD EPYC, torch 2.13.0+cpu (1)" in problem
