"""Robust plans on a case built so that the robust plan differs from the ordinary optimum.

Tiny: the optimum puts both hospitals at S2 with the sam there (247.5); losing S2 leaves only
A1's sam at S1: 100. Against a site loss, one hospital at S1 (A4 medical, 5) and one at S2
keeps 105 whichever site is struck (S2 struck: 100 + 5; S1 struck: 80 + 40 + 5 = 125), and
covers 227.5 with nothing lost: the price of robustness is 20. Two hospitals at S1 would keep
107.5 if S2 fell but only 80 if S1 did. Both worst cases are recomputed by the stress scorer
and both nominal coverages by `cowopt evaluate`, apart from the model.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from support import tiny, write_inputs

import cowopt
from cowopt.cli.main import main
from cowopt.decisions.robust import solve_robust, worst_case


@pytest.fixture
def data():
    return cowopt.from_tables(tiny())


def test_robust_against_a_site_differs_from_the_optimum(data):
    result = solve_robust(data, "site")
    s = result.summary
    assert (s["nominal_coverage"], s["nominal_worst_case"]) == (pytest.approx(247.5), pytest.approx(100.0))
    assert (s["robust_coverage"], s["robust_worst_case"]) == (pytest.approx(227.5), pytest.approx(105.0))
    assert s["price_of_robustness"] == pytest.approx(20.0) and s["worst_case_gain"] == pytest.approx(5.0)
    plan = result.robust.score.deployments
    hospitals = plan[plan["item"] == "hospital"].set_index("site_id")["count"].to_dict()
    assert hospitals == {"S1": 1, "S2": 1}
    # the independent scorer: nominal coverage by evaluate, the worst case by stress's scorer
    table = plan[["state", "item", "site_id", "count"]]
    assert cowopt.evaluate(data, table).score.objective == pytest.approx(227.5)
    assert worst_case(data, table, "site")["coverage_after"].min() == pytest.approx(105.0)
    nominal = result.nominal.score.deployments
    assert worst_case(data, nominal, "site")["coverage_after"].min() == pytest.approx(100.0)


def test_robust_against_a_contributor(data):
    # Borduria's withdrawal is the worst (it holds a sam and both hospitals); Aland can do no more
    # than its one sam, so no plan keeps more than 100 and robustness costs nothing
    s = solve_robust(data, "state").summary
    assert s["robust_worst_case"] == pytest.approx(100.0) and s["robust_coverage"] == pytest.approx(247.5)
    assert s["price_of_robustness"] == pytest.approx(0.0)


def test_cli_robust_json_and_files(tmp_path):
    inputs = write_inputs(tmp_path / "in.xlsx", tiny())
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["robust", str(inputs), "--against", "site", "-o", str(out), "--no-map", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["robust_worst_case"] == pytest.approx(105.0)
    assert document["price_of_robustness"] == pytest.approx(20.0)
    assert (out / "robust.xlsx").exists() and (out / "plan.xlsx").exists()


def test_cli_robust_on_inputs_without_any_plan_says_why_and_writes_nothing(tmp_path):
    tables = tiny()
    tables["Rules"] = {"rule_id": ["X"], "item": ["hospital"], "site_id": ["S1"], "min_count": [5], "hard": [1]}
    inputs = write_inputs(tmp_path / "in.xlsx", tables)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["robust", str(inputs), "--against", "site", "-o", str(out)])
    assert result.exit_code == 3
    assert "why: rule X asks for at least 5 units" in result.output
    assert not out.exists()


@pytest.mark.parametrize("against", ["site", "state"])
def test_row_generation_reaches_the_expanded_models_answer(data, against):
    expanded = solve_robust(data, against, method="expanded").summary
    rowgen = solve_robust(data, against, method="rowgen").summary
    assert rowgen["status"] == "optimal"
    assert rowgen["robust_worst_case"] == pytest.approx(expanded["robust_worst_case"])
    assert rowgen["robust_coverage"] == pytest.approx(expanded["robust_coverage"])
    assert 1 <= rowgen["losses_in_model"] <= rowgen["scenarios"]


def test_solve_robust_is_the_robust_command(tmp_path):
    """`cowopt solve --robust site` (the issue's spelling) gives what `cowopt robust --against site` gives."""
    path = write_inputs(tmp_path / "tiny.xlsx", tiny())
    run = CliRunner().invoke(main, ["solve", str(path), "--robust", "site", "-o", str(tmp_path / "r"), "--no-map", "--json"])
    assert run.exit_code == 0, run.output
    document = json.loads(run.stdout)
    assert document["robust_coverage"] == pytest.approx(227.5) and document["price_of_robustness"] == pytest.approx(20.0)
    assert (tmp_path / "r" / "robust.xlsx").exists()
    run = CliRunner().invoke(main, ["solve", str(path), "--robust", "site", "--levers", "--json"])
    assert run.exit_code == 2 and "cannot be combined" in json.loads(run.stdout)["message"]
