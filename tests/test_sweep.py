"""Sweeps (issue 4): budget frontiers, scenarios, process pools and Dask.

The tiny fixture's frontier is worked by hand (sam 300 M EUR, hospital 50; conftest geometry):
  budget    0: nothing                                   0
  budget  200: both hospitals at S2 (60 + 7.5)           67.5
  budget  400: + one sam at S1 (A1, 100)                 167.5
  budget  600: two sams (A1 100 + A2 80) beat the above  180
  budget  800: two sams + two hospitals                  247.5  (700 M EUR: nothing more to buy)
  budget 1000, 1200:                                     247.5
"""

from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from support import tiny, write_inputs

import cowopt
from cowopt.cli.main import main
from cowopt.errors import InputError
from cowopt.optimise.sensitivity import parse_budgets, plan_variants, run_sweep

BUDGETS = "0:1200:200"
FRONTIER = {0: 0.0, 200: 67.5, 400: 167.5, 600: 180.0, 800: 247.5, 1000: 247.5, 1200: 247.5}


def with_scenarios(rows: list[tuple]) -> dict:
    tables = tiny()
    tables["Scenarios"] = {"scenario": [r[0] for r in rows], "key": [r[1] for r in rows], "value": [r[2] for r in rows]}
    return tables


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def records(path: Path, sheet: str) -> list[dict]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = list(book[sheet].iter_rows(values_only=True))
    book.close()
    header = list(rows[0])
    return [dict(zip(header, r)) for r in rows[1:] if any(v is not None for v in r)]


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("inputs") / "tiny.xlsx", tiny())


@pytest.fixture(scope="module")
def local(tiny_path) -> pd.DataFrame:
    """The reference frontier: one process, warm-started budget chain."""
    return run_sweep(cowopt.load(tiny_path), BUDGETS, workers=1)


# --------------------------------------------------------------------------- budgets


@pytest.mark.parametrize(("text", "budgets"), [
    ("500:1500:500", [500, 1000, 1500]),
    ("0:1200:200", [0, 200, 400, 600, 800, 1000, 1200]),
    ("250:1000:300", [250, 550, 850]),  # STOP is included only when it is hit
    ("0.5:1.5:0.5", [0.5, 1.0, 1.5]),
    ("1000,500", [500, 1000]),
    (" 1000, 500 ,1000 ", [500, 1000]),
    ("700", [700]),
])
def test_parse_budgets(text, budgets):
    assert parse_budgets(text) == pytest.approx(budgets)


@pytest.mark.parametrize("text", ["lots", "500,lots", "-5", "nan", "inf", "1:2", "1:2:3:4", "5:1:1", "1:5:0",
                                  "1:5:-1", "0:100000:1"])
def test_bad_budgets_are_input_errors(text):
    with pytest.raises(InputError) as info:
        parse_budgets(text)
    assert all(p.file == "--budgets" for p in info.value.problems)


def test_frontier_is_the_hand_worked_one_and_never_falls(local):
    assert list(local["budget_meur"]) == list(FRONTIER)
    assert list(local["status"]) == ["optimal"] * len(FRONTIER)
    assert list(local["objective"]) == pytest.approx(list(FRONTIER.values()), abs=1e-6)
    assert local["objective"].is_monotonic_increasing
    assert (local["cost_meur"] <= local["budget_meur"] + 1e-6).all()
    marginal = list(local["marginal_per_meur"])[1:]
    assert marginal == pytest.approx([67.5 / 200, 100 / 200, 12.5 / 200, 67.5 / 200, 0, 0])


def test_each_variant_equals_an_independent_single_solve(local, tiny_path):
    data = cowopt.load(tiny_path)
    for budget, objective in zip(local["budget_meur"], local["objective"]):
        single = cowopt.solve(data.with_settings(budget_meur=budget))
        assert single.status == cowopt.Status.OPTIMAL
        assert objective == pytest.approx(single.score.objective, abs=1e-6), budget


def test_rebuilding_every_budget_gives_the_same_frontier(local, tiny_path):
    rebuilt = run_sweep(cowopt.load(tiny_path), BUDGETS, workers=1, rebuild=True)
    assert list(rebuilt["objective"]) == pytest.approx(list(local["objective"]), abs=1e-6)


# --------------------------------------------------------------------------- scenarios


SCENARIOS = [("no_borduria", "eligible:Borduria", 0), ("poor", "budget_meur", 400)]


def test_scenarios_change_what_they_say(tmp_path):
    """no_borduria: only Aland's sam is worth anything (A1: 100); poor: budget 400 gives 167.5."""
    inputs = write_inputs(tmp_path / "scen.xlsx", with_scenarios(SCENARIOS))
    result = cli("sweep", inputs, "--scenarios", "--workers", "1", "-o", tmp_path / "out", "--no-map", "--json")
    assert result.exit_code == 0, result.output
    frontier = {r["variant"]: r for r in json.loads(result.stdout)}
    assert set(frontier) == {"no_borduria", "poor"}
    assert frontier["no_borduria"]["objective"] == pytest.approx(100.0)
    assert frontier["no_borduria"]["budget_meur"] == 1000
    assert frontier["poor"]["budget_meur"] == 400
    assert frontier["poor"]["objective"] == pytest.approx(FRONTIER[400])
    plan = tmp_path / "out" / "no_borduria" / "plan.xlsx"
    deployments = records(plan, "Deployments")
    assert deployments and all(r["state"] == "Aland" for r in deployments)
    states = {r["state"]: r for r in records(plan, "States")}
    assert states["Borduria"]["eligible"] == 0 and states["Borduria"]["troops"] == 0
    poor = records(tmp_path / "out" / "poor" / "plan.xlsx", "Deployments")
    assert any(r["state"] == "Borduria" for r in poor)  # the other scenario keeps Borduria
    assert sum(r["cost_meur"] for r in poor) <= 400


def test_scenario_under_a_budget_sweep(tmp_path):
    """Scenario x budgets: each variant's budget is the swept one, and Borduria stays out."""
    data = cowopt.load(write_inputs(tmp_path / "scen.xlsx", with_scenarios(SCENARIOS)))
    frontier = run_sweep(data, [400, 1000], ["no_borduria", "base"], workers=1)
    by_variant = frontier.set_index("variant")
    assert by_variant.loc["no_borduria-budget-400", "objective"] == pytest.approx(100.0)
    assert by_variant.loc["no_borduria-budget-1000", "objective"] == pytest.approx(100.0)
    assert by_variant.loc["base-budget-400", "objective"] == pytest.approx(FRONTIER[400])
    assert by_variant.loc["base-budget-1000", "objective"] == pytest.approx(FRONTIER[1000])


def test_unknown_scenario_is_a_usage_error(tmp_path):
    inputs = write_inputs(tmp_path / "scen.xlsx", with_scenarios(SCENARIOS))
    result = cli("sweep", inputs, "--scenarios", "poor,rich", "-o", tmp_path / "out", "--no-map")
    assert result.exit_code == 2, result.output
    assert "no scenario named 'rich'" in result.output and "no_borduria" in result.output
    assert not (tmp_path / "out").exists()
    with pytest.raises(InputError):
        plan_variants(cowopt.load(inputs), None, ["rich"])


def test_bad_scenario_rows_fail_the_load_with_their_cells(tmp_path):
    rows = SCENARIOS + [("bad", "eligible:Nowhere", 0), ("bad", "budget_meur", "lots"), ("bad", "colour", "red")]
    inputs = write_inputs(tmp_path / "scen.xlsx", with_scenarios(rows))
    with pytest.raises(InputError) as info:
        cowopt.load(inputs)
    where = {(p.sheet, p.cell) for p in info.value.problems}
    assert {("Scenarios", "B4"), ("Scenarios", "C5"), ("Scenarios", "B6")} <= where, info.value.problems
    result = cli("validate", inputs)
    assert result.exit_code == 2
    assert "scen.xlsx › Scenarios!B4" in result.output and "Nowhere" in result.output
    assert "Traceback" not in result.output


def test_sweep_without_scenarios_sheet_says_so(tiny_path, tmp_path):
    result = cli("sweep", tiny_path, "--scenarios", "-o", tmp_path / "out")
    assert result.exit_code == 2 and "no Scenarios" in result.output


# --------------------------------------------------------------------------- outputs, processes, Dask


def test_cli_sweep_on_two_processes_writes_frontier_chart_and_plans(tiny_path, local, tmp_path):
    out = tmp_path / "sweep"
    result = cli("sweep", tiny_path, "--budgets", BUDGETS, "--workers", "2", "-o", out, "--no-map", "--json")
    assert result.exit_code == 0, result.output
    frontier = json.loads(result.stdout)
    assert [r["objective"] for r in frontier] == pytest.approx(list(local["objective"]), abs=1e-6)
    assert [r["budget_meur"] for r in frontier] == list(FRONTIER)

    workbook = out / "frontier.xlsx"
    book = openpyxl.load_workbook(workbook, read_only=True)
    assert {"Frontier", "Deployments"} <= set(book.sheetnames)
    book.close()
    with zipfile.ZipFile(workbook) as archive:
        assert "xl/charts/chart1.xml" in archive.namelist()
    sheet = records(workbook, "Frontier")
    assert [r["objective"] for r in sheet] == pytest.approx(list(FRONTIER.values()), abs=1e-6)
    wide = records(workbook, "Deployments")
    assert {f"base-budget-{b}" for b in FRONTIER if b} <= set(wide[0])  # one count column per variant with a plan
    assert (out / "frontier.png").read_bytes()[:4] == b"\x89PNG"
    for budget in FRONTIER:
        assert (out / f"base-budget-{budget}" / "plan.xlsx").exists(), budget


def test_dask_local_cluster_gives_the_local_frontier(tiny_path, local):
    distributed = pytest.importorskip("distributed")
    # processes=True: Pyomo's output capture is not thread-safe, so threads-only workers crash it
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        frontier = run_sweep(cowopt.load(tiny_path), BUDGETS, scheduler=cluster.scheduler_address, workers=2)
    assert list(frontier["status"]) == list(local["status"])
    assert list(frontier["objective"]) == pytest.approx(list(local["objective"]), abs=1e-6)


def test_unreachable_scheduler_is_a_clear_error_not_a_hang(tiny_path, tmp_path):
    started = time.monotonic()
    result = cli("sweep", tiny_path, "--budgets", "0:400:200", "--scheduler", "tcp://127.0.0.1:1",
                 "-o", tmp_path / "out")
    seconds = time.monotonic() - started
    assert result.exit_code == 2, result.output
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in result.output
    assert "Traceback" not in result.output
    assert seconds < 15, seconds
    assert not (tmp_path / "out" / "frontier.xlsx").exists()


def test_budgets_are_dealt_out_to_the_workers_in_turn():
    from cowopt.optimise.sensitivity import Variant, chains

    variants = [Variant("base", float(b)) for b in (5, 1, 3, 2, 4)]
    dealt = [[v.budget_meur for v in chain] for chain in chains(variants, 2)]
    assert dealt == [[1.0, 3.0, 5.0], [2.0, 4.0]]  # each ascending, the large budgets shared
    assert [[v.budget_meur for v in c] for c in chains(variants, 8)] == [[1.0], [2.0], [3.0], [4.0], [5.0]]
    two = [Variant(s, float(b)) for s in ("a", "b") for b in (1, 2, 3)]
    assert sorted(len(c) for c in chains(two, 2)) == [3, 3]  # one chain per scenario
