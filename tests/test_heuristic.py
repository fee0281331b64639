"""The LP-guided heuristic (model/optimise/heuristic.py) and the objective HiGHS holds (issue 17).

Every plan the heuristic returns must be a plan by the independent scorer (no violations) and
worth no more than the proven optimum; the model is stated to HiGHS as minimise -objective
while every reported figure keeps the planner's sense.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import highspy
import pandas as pd
import pytest

import cowopt
from cowopt.optimise import candidates
from cowopt.optimise.formulation import build_model, split_deployments
from cowopt.optimise.greedy import greedy_start
from cowopt.optimise.heuristic import improve
from cowopt.scoring.evaluate import deployments_table, score

solve_module = importlib.import_module("cowopt.optimise.solve")
ROOT = Path(__file__).resolve().parents[1]


def _synthetic(sites: int, assets: int, states: int, seed: int) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import make_instance
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return make_instance(sites, assets, states, seed)


def _heuristic_plan(data, budget_s: float = 5.0):
    """(the heuristic's result, its plan re-scored by the independent scorer, the solver)."""
    cands = candidates.build(data)
    model, index = build_model(data, cands)
    solver = solve_module.Solver(model, 30, 1e-4)
    solver.load()
    h = solver._highs._solver_model
    assert solver._as_minimum(h) == -1
    solver.set_start(greedy_start(data, cands, index))
    found = improve(h.getLp(), solver._item_columns(), budget_s, solver._start_columns(), 1e-4)
    values = solver._values(found.columns)
    plan = deployments_table(data, split_deployments(index, values["w"], values["y"]))
    flows = pd.DataFrame([(e, s, v) for (e, s), v in values["f"].items()], columns=["entry_id", "site_id", "troops"])
    return found, score(data, cands, plan[["state", "item", "site_id", "count"]], flows), solver


@pytest.mark.parametrize("seed", [1, 2])
def test_heuristic_plan_is_feasible_and_not_above_the_optimum(seed):
    data = cowopt.from_tables(_synthetic(30, 90, 8, seed))
    found, rescored, _ = _heuristic_plan(data)
    assert found.columns is not None
    assert rescored.violations == []
    # the heuristic's own objective (minimised) is the re-scored plan's, up to the cost tie-break
    assert -found.objective == pytest.approx(rescored.objective - rescored.rule_penalty, rel=1e-4, abs=1e-3)
    optimum = cowopt.solve(data, mip_gap=0.0, time_limit_s=60)
    assert optimum.status == cowopt.Status.OPTIMAL
    assert rescored.objective - rescored.rule_penalty <= optimum.score.objective - optimum.score.rule_penalty + 1e-6
    steps = [name for name, _, _ in found.steps]
    assert steps[:3] == ["start", "LP relaxation", "MIP on the LP's support"]
    # each step keeps the best plan so far: the objective never rises (minimised)
    objectives = [o for name, _, o in found.steps if name != "LP relaxation"]
    assert all(b <= a + 1e-9 for a, b in zip(objectives, objectives[1:]))


def test_heuristic_on_tiny_reaches_the_hand_worked_optimum(tiny_tables):
    data = cowopt.from_tables(tiny_tables)
    found, rescored, _ = _heuristic_plan(data)
    optimum = cowopt.solve(data, mip_gap=0.0)
    assert rescored.violations == []
    assert rescored.objective == pytest.approx(optimum.score.objective, abs=1e-6)


def test_highs_holds_minimise_minus_objective_and_reports_the_planners_sense(tiny_tables):
    data = cowopt.from_tables(tiny_tables).with_settings(budget_meur=1200)
    cands = candidates.build(data)
    model, _ = build_model(data, cands)
    solver = solve_module.Solver(model, 30, 0)
    chain = []
    for budget in (200, 400, 1200):  # a mutable Param changed in place between solves
        model.budget_meur.set_value(budget)
        outcome = solver.solve()
        h = solver._highs._solver_model
        assert h.getLp().sense_ == highspy.ObjSense.kMinimize
        assert h.getInfo().objective_function_value == pytest.approx(-outcome.objective)
        assert outcome.bound >= outcome.objective - 1e-6 and outcome.objective > 0
        assert not outcome.solution_problems
        chain.append(outcome.objective)
    fresh = []
    for budget in (200, 400, 1200):  # a model and a HiGHS instance of their own (same cost tie-break)
        model, _ = build_model(data, cands)
        model.budget_meur.set_value(budget)
        fresh.append(solve_module.Solver(model, 30, 0).solve().objective)
    assert chain == pytest.approx(fresh, abs=1e-6)
    assert chain[0] == pytest.approx(67.5, abs=1e-2) and chain[1] == pytest.approx(167.5, abs=1e-2)


def test_a_minimising_model_is_left_as_it_is(tiny_tables):
    """The diagnosis minimises its slacks: nothing is flipped and the sign stays +1."""
    import pyomo.environ as pyo

    data = cowopt.from_tables(tiny_tables)
    cands = candidates.build(data)
    model, _ = build_model(data, cands)
    model.obj.deactivate()
    model.obj_min = pyo.Objective(expr=model.total_cost_meur, sense=pyo.minimize)
    outcome = solve_module.Solver(model, 30, 0).solve()
    assert outcome.objective == pytest.approx(0.0, abs=1e-9)  # sending nothing costs nothing


def test_heuristic_start_path_above_the_threshold(monkeypatch, tiny_tables):
    data = cowopt.from_tables(tiny_tables)
    below = cowopt.solve(data, mip_gap=0.0)
    assert below.outcome.path == "compact" and below.summary()["solve_path"] == "compact"
    monkeypatch.setattr(solve_module, "START_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "HEURISTIC_ABOVE_NONZEROS", 0)
    monkeypatch.setenv("COWOPT_HELPER", "0")
    above = cowopt.solve(data, mip_gap=0.0)
    assert above.outcome.path == "heuristic start" and above.summary()["solve_path"] == "heuristic start"
    assert above.check.passed
    assert above.score.objective == pytest.approx(below.score.objective, abs=1e-6)
    monkeypatch.setattr(solve_module, "HEURISTIC_ABOVE_NONZEROS", 10**12)
    greedy = cowopt.solve(data, mip_gap=0.0)
    assert greedy.outcome.path == "greedy start"


def test_helper_process_beside_the_search(monkeypatch):
    """The heuristic in a second process, its plans handed in through the user-solution
    callback: the search ends at the optimum and the helper process is gone afterwards."""
    import threading

    data = cowopt.from_tables(_synthetic(30, 90, 8, 1))
    reference = cowopt.solve(data, mip_gap=0.0, time_limit_s=60)
    monkeypatch.setattr(solve_module, "START_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "HEURISTIC_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "_helper_wanted", lambda: True)
    result = cowopt.solve(data, mip_gap=0.0, time_limit_s=60)
    assert result.outcome.path == "with helper" and result.summary()["solve_path"] == "with helper"
    assert result.status == cowopt.Status.OPTIMAL and result.check.passed
    assert result.score.objective == pytest.approx(reference.score.objective, abs=1e-6)
    assert not [t for t in threading.enumerate() if t.name == "cowopt-helper"]  # the reader ended with it
