"""The staged model on issue 17's solver path: the LP-guided heuristic frees one item at a
time, and on the staged model (one block per stage, model.stage[t].w / .y) an item's columns
are those of every stage. Also the benchmark's staged synthetic instance (medium-staged)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pandas as pd
import pyomo.environ as pyo
import pytest
from support import tiny

import cowopt
from cowopt.optimise import candidates
from cowopt.optimise.formulation import build_model
from cowopt.optimise.heuristic import improve
from cowopt.optimise.stages import build_staged, rolling_start, staged_counts, union_data
from cowopt.scoring.staged import score_staged
from cowopt.workbook.data import from_tables

solve_module = importlib.import_module("cowopt.optimise.solve")
ROOT = Path(__file__).resolve().parents[1]


def _generate():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return generate


def _two_stages() -> dict:
    tables = tiny()
    tables["Stages"] = {"stage_id": ["A", "B"], "start_week": [0, 1], "end_week": [1, 3]}
    tables["EntryPoints"]["throughput_troops_per_week"] = [200]
    return tables


def _columns(solver, components) -> set:
    var_map = solver._highs._pyomo_var_to_solver_var_map
    return {var_map[id(var)] for component in components for var in component.values()}


def test_item_columns_of_the_staged_model_are_every_stages_w_and_y():
    """tiny in 2 stages: each item's columns are its w and y in stage A and in stage B, twice
    the static model's (the same keys per stage); before, the staged model gave the heuristic none."""
    data = from_tables(_two_stages())
    cands = candidates.build(union_data(data))
    model, sidx = build_staged(data, cands)
    solver = solve_module.Solver(model, 10, 1e-4)
    solver.load()
    columns = solver._item_columns()
    static = solve_module.Solver(build_model(from_tables(tiny()), cands)[0], 10, 1e-4)
    static.load()
    static_columns = static._item_columns()
    assert set(columns) == set(static_columns) == {"sam", "hospital", "battalion"}
    for item in columns:
        assert len(columns[item]) == 2 * len(static_columns[item])
        stages = [model.stage[t] for t in sidx.stages]
        expected = {c for blk in stages for c in _columns(solver, [
            {key: var for key, var in blk.w.items() if key[1] == item},
            {key: var for key, var in blk.y.items() if key[0] == item}])}
        assert set(columns[item].tolist()) == expected
    # integer columns, each of one item only
    lp = solver._highs._solver_model.getLp()
    integer = {i for i, kind in enumerate(lp.integrality_) if int(kind) > 0}
    every = [c for cols in columns.values() for c in cols.tolist()]
    assert len(every) == len(set(every)) and set(every) <= integer


def test_the_heuristic_improves_a_staged_plan_item_by_item_and_it_scores_as_a_plan():
    """A small staged synthetic instance (30 sites x 90 assets x 8 states, 3 stages): from the
    stage-by-stage start the heuristic runs fix-and-optimise on every item across the stages;
    its plan, re-scored by the staged scorer apart from the model, breaks nothing and is worth
    what the heuristic says (up to the cost tie-break), at least the start."""
    data = from_tables(_generate().make_instance(30, 90, 8, 1, stages=3))
    cands = candidates.build(union_data(data))
    model, sidx = build_staged(data, cands)
    assert rolling_start(data, cands, model, sidx, 10.0)
    solver = solve_module.Solver(model, 30, 1e-4)
    solver.load()
    h = solver._highs._solver_model
    assert solver._as_minimum(h) == -1
    start = [0.0] * h.getNumCol()
    var_map = solver._highs._pyomo_var_to_solver_var_map
    for var in model.component_data_objects(pyo.Var, descend_into=True):
        if id(var) in var_map and var.value is not None:
            start[var_map[id(var)]] = float(var.value)
    items = solver._item_columns()
    assert len(items) == 8  # 5 unit types, 3 air-defence types
    found = improve(h.getLp(), items, 20.0, start, 1e-4)
    names = [name for name, _, _ in found.steps]
    assert names[0] == "start"  # the rolling start is a plan of the staged model
    assert {f"fix-and-optimise {k}" for k in items} <= set(names)
    assert found.objective <= found.steps[0][2] + 1e-9
    solver._load_into_model(found.columns)
    values = {t: {name: {key: pyo.value(var) for key, var in getattr(model.stage[t], name).items()}
                  for name in ("w", "y")} for t in sidx.stages}
    plan = pd.DataFrame(staged_counts(sidx, values, False),
                        columns=["state", "item", "site_id", "count", "arrival_stage", "leave_stage"])
    staged = score_staged(data, cands, plan)
    assert staged.violations == []
    assert -found.objective == pytest.approx(staged.objective, rel=1e-3)


def test_medium_staged_is_medium_in_three_stages_that_build_up():
    """Same seed, same static tables; stages 0-2, 2-8, 8-26 weeks; commitments grow stage to
    stage; the crossings pass 1.2 x the mission over 6 weeks; the first echelon is half the mission."""
    generate = _generate()
    static = generate.make_instance(30, 90, 8, 3)
    staged = generate.make_instance(30, 90, 8, 3, stages=3)
    for sheet, table in static.items():
        if sheet not in ("Settings", "EntryPoints"):
            pd.testing.assert_frame_equal(staged[sheet], table)
    stages = staged["Stages"]
    assert list(stages["stage_id"]) == ["D+14", "D+56", "D+182"]
    assert list(stages["start_week"]) == [0, 2, 8] and list(stages["end_week"]) == [2, 8, 26]
    settings = dict(zip(staged["Settings"]["key"], staged["Settings"]["value"]))
    mission = int(settings["mission_troops_max"])
    assert stages["mission_troops_max"].iloc[0] == round(mission / 2, -2)
    weekly = staged["EntryPoints"]["throughput_troops_per_week"]
    assert list(weekly) == [round(t / 6) for t in static["EntryPoints"]["throughput_troops"]]
    inventory = static["Inventory"].set_index(["state", "item"])["available"]
    by_stage = staged["StageInventory"].pivot_table(index=["state", "item"], columns="stage_id", values="available")
    assert set(by_stage.columns) == {"D+14", "D+56"}  # D+182: Inventory
    assert (by_stage["D+14"] <= by_stage["D+56"]).all() and (by_stage["D+56"] <= inventory[by_stage.index]).all()
    assert by_stage["D+14"].sum() < by_stage["D+56"].sum() < inventory.sum()
    # State01 (core) with 3 of an item: 2, 2, 3; a non-core state with 3: 1, 2, 3
    data = cowopt.from_tables(staged)
    assert list(data.stages["weeks"]) == [2, 6, 18]


def test_the_staged_solve_takes_the_heuristic_path_on_a_large_enough_model(monkeypatch):
    """With the size threshold at 0 (and the helper off, so the heuristic runs in this process)
    the staged solve of tiny in 2 stages runs the heuristic from the stage-by-stage start and
    still reaches the hand-worked optimum, 675 protection-weeks (test_stages)."""
    monkeypatch.setattr(solve_module, "HEURISTIC_ABOVE_NONZEROS", 0)
    monkeypatch.setenv("COWOPT_HELPER", "0")
    result = cowopt.solve(from_tables(_two_stages()))
    assert result.status == cowopt.Status.OPTIMAL and result.check.passed
    assert result.staged.objective == pytest.approx(675.0, abs=1e-6)
    assert result.outcome.path == "heuristic start"
    steps = {name: value for name, _, value in result.outcome.heuristic_steps}
    assert list(steps)[:2] == ["start", "LP relaxation"]
    if "fix-and-optimise sam" not in steps:
        # fix-and-optimise is skipped when the plan is already within the gap of the LP bound
        from cowopt.optimise.heuristic import relative_gap

        best = min(v for name, v in steps.items() if name != "LP relaxation")
        assert relative_gap(best, steps["LP relaxation"]) <= float(result.data.settings["mip_gap"])
    else:
        assert "fix-and-optimise hospital" in steps
