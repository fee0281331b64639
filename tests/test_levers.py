"""The price of each demand, on tiny instances whose prices are known by construction.

Tiny's optimum (budget 1000): a sam at S1 (A1: 100), a sam at S2 (A2: 80), both hospitals at
S2 (A2 medical 40 + 20, A4 medical 5 + 2.5): 247.5. A hard rule that wants both hospitals at S1
leaves them only A4 medical (5 + 2.5): 187.5. Dropping the rule is worth exactly 60.
"""

from __future__ import annotations

import json

import openpyxl
import pytest
from click.testing import CliRunner
from support import tiny, write_inputs

import cowopt
from cowopt.cli.main import main
from cowopt.decisions.levers import price_levers

HOSPITALS_AT_S1 = {"rule_id": ["HOSP_S1"], "state": [""], "item": ["hospital"], "capability": [""],
                   "site_id": ["S1"], "region": [""], "min_count": [2], "max_count": [None], "hard": [1],
                   "penalty": [None]}


def with_rule() -> dict:
    tables = tiny()
    tables["Rules"] = HOSPITALS_AT_S1
    return tables


def test_a_rule_priced_by_construction():
    report = price_levers(cowopt.from_tables(with_rule()), workers=1)
    rows = report.table.set_index("lever")
    assert report.base["coverage"] == pytest.approx(187.5)
    assert rows.at["rule HOSP_S1", "objective_gain"] == pytest.approx(60.0)
    assert rows.at["rule HOSP_S1", "coverage"] == pytest.approx(247.5)
    assert report.table.iloc[0]["lever"] == "rule HOSP_S1"  # sorted by value
    # caps no plan can reach are 0 by argument, not solved
    assert rows.at["cap Aland", "status"] == "not solved" and rows.at["cap Aland", "objective_gain"] == 0
    assert "1,100 troops" in rows.at["cap Aland", "note"]  # 2 battalions (500) + a sam crew (100)
    assert rows.at["throughput E1 Gate", "note"] == "cannot bind: at or above mission_troops_max"
    assert rows.at["budget", "objective_gain"] == pytest.approx(0.0)  # 700 of 1000 spent


def test_a_binding_budget_priced_by_construction():
    tables = tiny()
    tables["Settings"]["value"][0] = 650  # two sams and one hospital (650): 100 + 80 + 40 + 5 = 225
    report = price_levers(cowopt.from_tables(tables), workers=1)
    rows = report.table.set_index("lever")
    assert report.base["coverage"] == pytest.approx(225.0)
    assert rows.at["budget", "relaxed_to"] == "650 → 715 M EUR"
    assert rows.at["budget", "objective_gain"] == pytest.approx(22.5)  # the second hospital: 20 + 2.5


def test_a_binding_state_cap_priced_by_construction():
    tables = tiny()
    tables["States"]["max_troops"] = [3000, 400]  # Borduria: its sam (100) and one hospital (200) fit, not two
    report = price_levers(cowopt.from_tables(tables), step=0.25, workers=1)  # 400 -> 500: the second fits
    rows = report.table.set_index("lever")
    assert report.base["coverage"] == pytest.approx(225.0)
    assert rows.at["cap Borduria", "objective_gain"] == pytest.approx(22.5)


def test_cli_levers_writes_sheet_chart_and_json(tmp_path):
    inputs = write_inputs(tmp_path / "in.xlsx", with_rule())
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["levers", str(inputs), "-o", str(out), "--workers", "1", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "done" and document["base_coverage"] == pytest.approx(187.5)
    assert document["levers"][0]["lever"] == "rule HOSP_S1"
    assert document["levers"][0]["objective_gain"] == pytest.approx(60.0)
    book = openpyxl.load_workbook(out / "levers.xlsx")
    assert book.sheetnames == ["Levers", "Chart", "About"]
    assert (out / "levers.png").stat().st_size > 5_000


def test_one_step_up_rounds_to_whole_troops_without_float_noise():
    from cowopt.decisions.levers import _raised

    assert (_raised(100, 0.10), _raised(200, 0.10), _raised(1000, 0.10), _raised(150, 0.10)) == (110, 220, 1100, 165)
    assert _raised(101, 0.10) == 112  # 111.1 rounds up


def test_cli_levers_on_inputs_without_any_plan_says_why(tmp_path):
    tables = tiny()
    tables["Rules"] = dict(HOSPITALS_AT_S1, min_count=[5])  # Borduria has two hospitals
    inputs = write_inputs(tmp_path / "in.xlsx", tables)
    result = CliRunner().invoke(main, ["levers", str(inputs), "-o", str(tmp_path / "out"), "--workers", "1", "--json"])
    assert result.exit_code == 3, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "infeasible" and document["base_coverage"] is None
    gains = {row["lever"]: row["objective_gain"] for row in document["levers"]}
    assert gains["rule HOSP_S1"] is None  # no base to gain over; the relaxed problem itself is solvable
    assert {row["lever"]: row["status"] for row in document["levers"]}["rule HOSP_S1"] == "optimal"


def test_solve_levers_is_the_levers_command(tmp_path):
    """`cowopt solve --levers` (the issue's spelling) prices the demands like `cowopt levers`."""
    import json

    path = write_inputs(tmp_path / "tiny.xlsx", tiny())
    run = CliRunner().invoke(main, ["solve", str(path), "--levers", "-o", str(tmp_path / "l"), "--json"])
    assert run.exit_code == 0, run.output
    document = json.loads(run.stdout)
    assert document["base_coverage"] == pytest.approx(247.5) and document["levers"]
    assert (tmp_path / "l" / "levers.xlsx").exists()
