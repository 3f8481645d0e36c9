"""The scorecard: claims pooled over benchmark draws, failed draws reported, clear errors."""

import json

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from nbutils import catalog, claims, cli, scorecard  # noqa: E402

FORGETS = "ngdiff.table1.ngdiff_autolr_forgets"
GDIFF09 = "ngdiff.table1.gdiff09_fails_to_forget"


def write_sidecars(folder, draw: int, values: dict[str, list[float]]):
    """Sidecars of notebook 06 as a draw would leave them, with the given runs."""
    measurements = pd.concat(
        [claims.measurement(cid, draw, v, seeds=range(len(v))) for cid, v in values.items()]
    )
    verdicts = claims.evaluate(measurements)
    folder.mkdir(parents=True, exist_ok=True)
    figures = catalog.entry("06").figures
    for i, name in enumerate(figures):
        ids = list(values) if i == 0 else []
        sidecar = {
            "claims": claims.for_sidecar(verdicts, measurements, ids),
            "provenance": {"seed": draw},
        }
        (folder / f"{name}.json").write_text(json.dumps(sidecar))


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
    out, build = tmp_path / "figures", tmp_path / "build"
    write_sidecars(out, 0, {FORGETS: [0.01, 0.02, 0.03]})
    write_sidecars(build / "scorecard" / "draw-1", 1, {FORGETS: [0.02, 0.03, 0.01]})
    args = ["scorecard", "--collect", "--claims", FORGETS, "--out", str(out), "--build"]
    assert cli.main([*args, str(build), "--seeds", "0", "1"]) == 0
    (row,) = json.loads((out / "scorecard.json").read_text())["claims"]
    assert row["pooled"]["n_draws"] == 2 and row["pooled"]["verdict"] == "holds"
    # a draw that was never run is reported as not run (not as failed, not dropped)
    assert cli.main([*args, str(build), "--seeds", "0", "2"]) == 1
    data = json.loads((out / "scorecard.json").read_text())
    (row,) = data["claims"]
    assert "no sidecar" in row["draws"]["2"]["not_run"] and "failed" not in row["draws"]["2"]
    assert data["not_run"]["2"] and not data["failed"]["2"]
    assert "| not run |" in (out / "scorecard.md").read_text()


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


def test_the_default_draw_writes_next_to_the_scorecard_the_others_under_build(tmp_path):
    out, build = tmp_path / "figures", tmp_path / "build"
    assert scorecard.draw_dir(0, out, build) == out
    assert scorecard.draw_dir(1, out, build) == build / "scorecard" / "draw-1"
    assert scorecard.draw_overrides(1, {"smoke": True}) == {
        "smoke": True,
        "seed": 1,
        "verdicts_only": True,
    }
    assert "verdicts_only" not in scorecard.draw_overrides(0, {})


def test_bad_input_gives_a_clear_error(capsys):
    assert cli.main(["scorecard", "--seeds", "0", "-1", "--smoke"]) == 2
    assert "draw seeds must be >= 0" in capsys.readouterr().err
    assert cli.main(["scorecard", "--claims", "ngdiff.no_such_claim", "--smoke"]) == 2
    assert "unknown claim id 'ngdiff.no_such_claim'" in capsys.readouterr().err
    assert cli.main(["scorecard", "--jobs", "0", "--smoke"]) == 2


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
    assert (tmp_path / "build" / "scorecard" / "draw-4" / "tour_answer_loss.json").exists()
