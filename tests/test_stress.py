"""`cowopt stress` on a three-site plan whose losses are worked by hand.

Tiny, with the buffer at 0 (the sam may stand at S3, 33 km from the line), max_route_km 300 and
a second crossing E2 at 47.5N (500 troops): E1 (50.0N) reaches only S2 (222 km), E2 reaches
S1, S2 and S3 (56, 56, 133 km). The plan: Aland's sam at S1 (covers A1: 100 points), Borduria's
sam at S3 (A3: 60), Borduria's two hospitals at S2 (A2 medical 40 + 20, A4 medical 5 + 2.5).
Coverage 227.5. Closing E2 strands S1 and S3 (160 lost); closing E1 loses nothing but leaves
600 troops for E2's 500 (shortfall 100). The worst site loss is S1: 100 points.
"""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from support import tiny, write_inputs

import cowopt
from cowopt.cli.main import main
from cowopt.scoring.stress import stress

PLAN = pd.DataFrame({"state": ["Aland", "Borduria", "Borduria"], "item": ["sam", "sam", "hospital"],
                     "site_id": ["S1", "S3", "S2"], "count": [1, 1, 2]})


def three_sites() -> dict:
    tables = tiny()
    settings = dict(zip(tables["Settings"]["key"], range(len(tables["Settings"]["key"]))))
    tables["Settings"]["value"][settings["frontline_buffer_km"]] = 0
    tables["Settings"]["value"][settings["max_route_km"]] = 300
    tables["AirDefenceTypes"]["min_frontline_km"] = [0]
    tables["EntryPoints"] = {"entry_id": ["E1", "E2"], "name": ["Gate", "Ford"], "lat": [50.0, 47.5],
                             "lon": [30.0, 30.0], "throughput_troops": [5000, 500]}
    return tables


@pytest.fixture
def data():
    return cowopt.from_tables(three_sites())


def test_the_plan_itself_scores_as_worked(data):
    checked = cowopt.evaluate(data, PLAN)
    assert checked.score.violations == []
    assert checked.score.objective == pytest.approx(227.5)


def test_single_losses_ranked_as_worked_by_hand(data):
    report = stress(data, PLAN)
    rows = report.singles.set_index("loss")
    assert list(report.singles["loss"]) == ["entry E2", "state Borduria", "site S1", "state Aland", "site S2",
                                            "site S3", "entry E1"]
    assert rows["coverage_lost"].to_dict() == pytest.approx(
        {"entry E2": 160.0, "state Borduria": 127.5, "site S1": 100.0, "state Aland": 100.0, "site S2": 67.5,
         "site S3": 60.0, "entry E1": 0.0})
    assert rows.at["site S1", "share_lost"] == pytest.approx(100 / 227.5, abs=1e-6)
    assert rows.at["site S1", "lost"] == "S1 Middle"
    assert (rows.at["entry E2", "units_lost"], rows.at["entry E2", "troops_lost"]) == (2, 200)
    assert rows.at["entry E2", "throughput_shortfall"] == 0
    assert rows.at["entry E1", "throughput_shortfall"] == 100  # 600 troops, E2 carries 500
    assert rows.at["state Borduria", "troops_lost"] == 500
    assert rows.at["site S2", "assets_affected"] == 2 and rows.at["site S2", "assets"] == "City, Town"
    worst_site = report.singles[report.singles["kind"] == "site"].iloc[0]
    assert (worst_site["loss"], worst_site["coverage_lost"]) == ("site S1", 100.0)


def test_pairs_add_up_and_two_closed_crossings_lose_everything(data):
    report = stress(data, PLAN, pairs=True)
    assert len(report.pairs) == 21 and report.notes == []
    rows = report.pairs.set_index("loss")
    assert rows.at["state Aland + site S2", "coverage_lost"] == pytest.approx(167.5)
    assert rows.at["entry E1 + entry E2", "coverage_lost"] == pytest.approx(227.5)
    assert rows.at["entry E1 + entry E2", "units_lost"] == 4


def test_pairs_are_capped_and_the_cap_is_said(data):
    report = stress(data, PLAN, pairs=True, max_pairs=6)
    assert len(report.pairs) == 6  # the pairs among the 4 worst singles
    assert report.notes == ["21 pairs of losses is more than 6: scored the 6 pairs among the 4 worst single losses"]
    assert set(report.pairs["loss"]) == {"entry E2 + state Borduria", "entry E2 + site S1", "entry E2 + state Aland",
                                         "state Borduria + site S1", "state Borduria + state Aland",
                                         "site S1 + state Aland"}


def test_a_rule_the_loss_breaks_is_named():
    tables = three_sites()
    tables["Rules"] = {"rule_id": ["AIR_S1"], "state": [""], "item": [""], "capability": ["air_defence"],
                       "site_id": ["S1"], "region": [""], "min_count": [1], "max_count": [None], "hard": [1],
                       "penalty": [None]}
    rows = stress(cowopt.from_tables(tables), PLAN).singles.set_index("loss")
    assert rows.at["site S1", "rules_broken"] == "AIR_S1" and rows.at["state Aland", "rules_broken"] == "AIR_S1"
    assert rows.at["site S2", "rules_broken"] == ""


def test_replan_pins_the_survivors_and_re_optimises(data):
    rows = stress(data, PLAN, replan=True, workers=1).singles.set_index("loss")
    # S1 struck: Aland's sam moves to S2 (A2 air defence, 80); the rest stays: 127.5 + 80
    assert rows.at["site S1", "replan_status"] == "optimal"
    assert rows.at["site S1", "replan_coverage"] == pytest.approx(207.5)
    assert rows.at["site S1", "recovered"] == pytest.approx(80.0)
    # Borduria withdraws: Aland has nothing else worth placing
    assert rows.at["state Borduria", "replan_coverage"] == pytest.approx(100.0)
    assert cowopt.evaluate(data, PLAN).score.objective == pytest.approx(227.5)


def test_cli_writes_the_workbook_chart_and_one_json_document(tmp_path):
    inputs = write_inputs(tmp_path / "in.xlsx", three_sites())
    plan = tmp_path / "plan.xlsx"
    PLAN.to_excel(plan, sheet_name="Deployments", index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["stress", str(inputs), str(plan), "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "done" and document["baseline_coverage"] == pytest.approx(227.5)
    assert [w["loss"] for w in document["worst"]][:3] == ["entry E2", "state Borduria", "site S1"]
    assert (out / "stress.png").stat().st_size > 10_000
    book = openpyxl.load_workbook(out / "stress.xlsx")
    assert book.sheetnames == ["Stress", "Chart", "About"]
    rows = list(book["Stress"].iter_rows(values_only=True))
    assert rows[1][1] == "entry E2" and len(rows) == 8


def test_cli_bad_plan_cell_is_named_and_nothing_written(tmp_path):
    inputs = write_inputs(tmp_path / "in.xlsx", three_sites())
    plan = tmp_path / "plan.xlsx"
    PLAN.assign(count=["one", 1, 2]).to_excel(plan, sheet_name="Deployments", index=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["stress", str(inputs), str(plan), "-o", str(out), "--json"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["status"] == "invalid_input" and document["problems"][0]["cell"] == "D2"
    assert not out.exists()


def test_a_plan_that_breaks_a_constraint_is_stressed_from_its_coverage_and_says_so():
    data = cowopt.from_tables(tiny())  # buffer 50 km: S3 (33 km from the line) takes nothing
    plan = pd.DataFrame({"state": ["Aland", "Borduria"], "item": ["sam", "sam"], "site_id": ["S1", "S3"],
                         "count": [1, 1]})
    report = stress(data, plan)
    assert report.baseline == pytest.approx(100.0)  # the sam at S3 earns nothing, as in `evaluate`
    assert report.notes == ["the plan itself breaks 1 constraint(s); losses are measured from its coverage as it "
                            "stands (100.0)"]
    rows = report.singles.set_index("loss")
    assert rows.at["site S1", "coverage_lost"] == pytest.approx(100.0)
    assert sorted(rows.index) == ["entry E1", "site S1", "state Aland"]  # the forbidden row has nothing to lose
