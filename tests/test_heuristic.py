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


def test_relative_gap_is_highs_mip_gap():
    from cowopt.optimise.heuristic import relative_gap

    assert relative_gap(-100.0, -110.0) == pytest.approx(0.1)  # minimised: plan -100, bound -110
    assert relative_gap(-100.0, -100.0) == 0.0
    assert relative_gap(-100.0, -99.0) == 0.0  # a bound past the plan (tolerances): no gap
    assert relative_gap(0.0, -1.0) == float("inf")


class _InProcessHelper:
    """A stand-in for the helper process: the heuristic runs at once, in this process, and its
    plan is never handed to HiGHS, so only the race (solve._Race) can make it count."""

    def __init__(self, lp, item_columns, budget_s, start, mip_gap):
        found = improve(lp, item_columns, 10.0, start, 1e-6)
        self.best, self.best_objective, self.lp_bound = found.columns, found.objective, found.bound
        self.steps = [("helper plan", 0.0, found.objective), ("helper LP bound", 0.0, found.bound)]

    def offer(self, event):
        pass

    def close(self):
        return list(self.steps)


class _LateHelper(_InProcessHelper):
    """Its plan and bound become known only when HiGHS first asks for a plan (in the search)."""

    def __init__(self, *args):
        super().__init__(*args)
        self._plan = (self.best, self.best_objective, self.lp_bound)
        self.best, self.best_objective, self.lp_bound = None, float("inf"), None
        self.asked = 0

    def offer(self, event):
        self.asked += 1
        self.best, self.best_objective, self.lp_bound = self._plan


def _race_instance():
    return cowopt.from_tables(_synthetic(30, 90, 8, 1))


def test_the_helpers_plan_ends_the_search_when_it_is_within_the_gap_of_the_lp_bound(monkeypatch):
    from cowopt.optimise.heuristic import relative_gap

    data = _race_instance()
    monkeypatch.setattr(solve_module, "START_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "HEURISTIC_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "_helper_wanted", lambda: True)
    monkeypatch.setattr(solve_module, "_Helper", _InProcessHelper)
    gap = 0.05  # wide enough that the heuristic's plan is within it of the LP bound
    result = cowopt.solve(data, mip_gap=gap, time_limit_s=60)
    outcome = result.outcome
    steps = dict((name, value) for name, _, value in outcome.heuristic_steps)
    assert outcome.path == "with helper" and result.status == cowopt.Status.OPTIMAL
    assert "LP-guided heuristic's plan proven within the gap" in outcome.detail
    # the plan reported is the heuristic's, never handed to HiGHS; the bound at least the LP's
    assert outcome.objective == pytest.approx(steps["helper plan"], rel=1e-9)
    assert outcome.bound <= steps["helper LP bound"] + 1e-6
    assert outcome.gap == pytest.approx(relative_gap(-outcome.objective, -outcome.bound))
    assert outcome.gap <= gap
    assert result.check.passed and result.score.violations == []
    reference = cowopt.solve(data, mip_gap=0.0, time_limit_s=60)
    assert result.score.objective <= reference.score.objective + 1e-6
    assert result.score.objective >= reference.score.objective * (1 - gap)


def test_the_race_stops_highs_mid_search_and_keeps_a_plan_it_never_took(monkeypatch):
    """The helper's plan arrives while HiGHS searches; HiGHS is stopped at its next check and
    the outcome is the helper's plan, proven against the best bound known."""
    data = _race_instance()
    monkeypatch.setattr(solve_module, "START_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "HEURISTIC_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "_helper_wanted", lambda: True)
    monkeypatch.setattr(solve_module, "_Helper", _LateHelper)
    result = cowopt.solve(data, mip_gap=0.05, time_limit_s=60)
    outcome = result.outcome
    assert outcome.nodes is not None  # HiGHS ran
    assert "heuristic's plan proven within the gap" in outcome.detail
    assert result.status == cowopt.Status.OPTIMAL and outcome.gap <= 0.05 and result.check.passed
    helper_plan = dict((name, value) for name, _, value in outcome.heuristic_steps)["helper plan"]
    assert outcome.objective >= helper_plan - 1e-6  # the best of HiGHS's and the helper's


def test_a_heuristic_start_within_the_gap_needs_no_search(monkeypatch):
    data = _race_instance()
    monkeypatch.setattr(solve_module, "START_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "HEURISTIC_ABOVE_NONZEROS", 0)
    monkeypatch.setenv("COWOPT_HELPER", "0")
    result = cowopt.solve(data, mip_gap=0.05, time_limit_s=60)
    outcome = result.outcome
    assert outcome.path == "heuristic start" and result.status == cowopt.Status.OPTIMAL
    assert outcome.nodes is None  # HiGHS's branch and bound never ran
    lp_bound = dict((name, value) for name, _, value in outcome.heuristic_steps)["LP relaxation"]
    assert outcome.bound == pytest.approx(lp_bound)
    assert result.check.passed
    # asked for a gap the heuristic cannot prove, the search runs as before
    tight = cowopt.solve(data, mip_gap=0.0, time_limit_s=60)
    assert tight.outcome.nodes is not None and tight.status == cowopt.Status.OPTIMAL


def test_a_run_stopped_through_the_interrupt_flag_does_not_stop_the_next(tiny_tables):
    """HiGHS keeps its user-interrupt flag between runs while an interrupt callback is
    subscribed; the race sets it to stop a search, and the next budget of a sweep re-solves the
    same HiGHS instance. Each solve clears it first (solve._InterruptReset)."""
    data = cowopt.from_tables(tiny_tables)
    cands = candidates.build(data)
    model, _ = build_model(data, cands)
    solver = solve_module.Solver(model, 30, 0)
    first = solver.solve()
    assert first.status == cowopt.Status.OPTIMAL
    h = solver._highs._solver_model

    def stop(event):
        event.data_in.user_interrupt = True

    h.cbMipInterrupt.subscribe(stop)  # what the race does when the gap is closed
    h.clearSolver()
    h.run()
    h.cbMipInterrupt.unsubscribe(stop)
    assert h.getModelStatus() == highspy.HighsModelStatus.kInterrupt
    again = solver.solve()
    assert again.status == cowopt.Status.OPTIMAL, again.detail
    assert again.objective == pytest.approx(first.objective)


@pytest.mark.parametrize("threshold, expect_off", [(0, True), (10**12, False)])
def test_the_search_beside_a_helper_on_large_models_runs_without_sub_mips(monkeypatch, threshold, expect_off):
    """A sub-MIP calls no callback, so it kept the race from stopping HiGHS on 400 x 10,000;
    with the helper beside it on models above the threshold, HiGHS runs without them."""
    data = _race_instance()
    monkeypatch.setattr(solve_module, "START_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "HEURISTIC_ABOVE_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "NO_SUBMIP_BELOW_NONZEROS", 0)
    monkeypatch.setattr(solve_module, "HELPER_NO_SUBMIP_ABOVE_NONZEROS", threshold)
    monkeypatch.setattr(solve_module, "_helper_wanted", lambda: True)
    monkeypatch.setattr(solve_module, "_Helper", _LateHelper)
    cands = candidates.build(data)
    model, index = build_model(data, cands)
    solver = solve_module.Solver(model, 60, 0.05)
    solver.set_start(greedy_start(data, cands, index))
    outcome = solver.solve()
    assert outcome.status == cowopt.Status.OPTIMAL and not outcome.solution_problems
    h = solver._highs._solver_model
    for option in ("mip_heuristic_run_rins", "mip_heuristic_run_rens", "mip_heuristic_run_root_reduced_cost"):
        assert h.getOptionValue(option)[1] is (not expect_off), option
