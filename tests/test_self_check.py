"""Every solve checks itself (issue 11): stand-ins for a solver that hands back a stale or an
infeasible solution, and what cowopt makes of them.

The tiny fixture's budget frontier is worked by hand in test_sweep.py; the stand-ins below
break HiGHS's answers in the two ways seen or feared in practice:
- stale columns: HiGHS 1.16 reported the optimum's objective at budget 400 (167.5) with the
  columns of budget 200's plan (67.5);
- a plan that breaks the model: a solver (or a wrong extraction) whose numbers do not meet
  the hard constraints while the objective claims they do.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import highspy
import openpyxl
import pytest
from click.testing import CliRunner
from support import tiny, write_inputs

import cowopt
from cowopt.cli.main import main
from cowopt.optimise.sensitivity import run_sweep
from cowopt.optimise.solve import Solver, Status

FRONTIER = {0: 0.0, 200: 67.5, 400: 167.5, 600: 180.0, 800: 247.5, 1000: 247.5, 1200: 247.5}


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory) -> Path:
    return write_inputs(tmp_path_factory.mktemp("inputs") / "tiny.xlsx", tiny())


def _stale_first_solution(monkeypatch):
    """HiGHS stand-in: each HiGHS instance hands back its FIRST run's columns on every later
    run (the objective it reports stays right). A fresh instance is right once."""
    real = highspy.Highs.getSolution

    def stale(self):
        if not hasattr(self, "_first_solution"):
            self._first_solution = real(self)
        return self._first_solution

    monkeypatch.setattr(highspy.Highs, "getSolution", stale)


def _always_empty_solution(monkeypatch):
    """HiGHS stand-in: every run hands back all-zero columns with the true objective."""
    real = highspy.Highs.getSolution

    def zeros(self):
        solution = real(self)
        solution.col_value = [0.0] * len(solution.col_value)
        return solution

    monkeypatch.setattr(highspy.Highs, "getSolution", zeros)


def test_stale_columns_on_a_warm_budget_chain_are_caught_and_solved_again(monkeypatch, tiny_path):
    _stale_first_solution(monkeypatch)
    data = cowopt.load(tiny_path)
    frontier = run_sweep(data, "0:1200:200", workers=1)
    by_budget = dict(zip(frontier["budget_meur"], frontier["objective"]))
    # every budget after the first got the stale plan from the warm model, was caught, and the
    # fresh model's answer is the hand-worked optimum
    assert by_budget == pytest.approx(FRONTIER)
    assert set(frontier["status"]) == {"optimal"}
    checks = dict(zip(frontier["budget_meur"], frontier["independent_check"]))
    assert checks[200] == "passed after a second solve" and checks[400] == "passed after a second solve"


def test_stale_columns_in_a_single_solve_are_solved_again_on_a_fresh_model(monkeypatch, tiny_path):
    data = cowopt.load(tiny_path).with_settings(budget_meur=400)
    solver_runs = []
    real_solve_once = Solver._solve_once

    def count(self, into_model):
        solver_runs.append(self)
        return real_solve_once(self, into_model)

    monkeypatch.setattr(Solver, "_solve_once", count)
    _stale_first_solution(monkeypatch)
    # a solver whose first run is stale: make the first run of the one instance happen at
    # budget 200, then ask for budget 400 on the same instance
    from cowopt.optimise import candidates as candidates_mod
    from cowopt.optimise.formulation import build_model

    cands = candidates_mod.build(data)
    model, _ = build_model(data.with_settings(budget_meur=1200), cands)
    solver = Solver(model, 30, 0)
    model.budget_meur.set_value(200)
    assert solver.solve().objective == pytest.approx(67.5, abs=1e-2)
    model.budget_meur.set_value(400)
    outcome = solver.solve()
    assert outcome.status == Status.OPTIMAL
    assert outcome.resolved_after and "columns give 67.4" in outcome.resolved_after[0]
    assert outcome.objective == pytest.approx(167.5, abs=1e-2)
    assert sum(outcome.values["y"].values()) == pytest.approx(2 + 1)  # two hospitals and one sam
    assert len(solver_runs) == 3  # 200, 400 stale, 400 again on a fresh HiGHS model


def test_a_solver_that_stays_wrong_gives_an_error_and_no_plan(monkeypatch, tiny_path, tmp_path):
    _always_empty_solution(monkeypatch)
    result = cowopt.solve(tiny_path)
    assert result.status == Status.ERROR
    assert result.score is None and not result.has_plan
    assert "failed the check twice" in result.detail
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["solve", str(tiny_path), "-o", str(out), "--json", "--no-map"])
    assert run.exit_code == 4, run.output
    document = json.loads(run.output)
    assert document["status"] == "error" and document["plan_file"] is None
    assert not (out / "plan.xlsx").exists()


def _tampered(outcome, extra_sams: int = 0, drop_everything: bool = False):
    """A stand-in's plan: the true solution with its y values changed; the stand-in does not
    notice (no solution problems reported), so only the independent check can."""
    values = {name: dict(v) for name, v in outcome.values.items()}
    for key in values["y"]:
        if drop_everything:
            values["y"][key] = 0.0
        elif key[0] == "sam":
            values["y"][key] += extra_sams
    for key in values["w"]:
        if key[1] == "sam" and not drop_everything:
            values["w"][key] += extra_sams
    return replace(outcome, values=values, solution_problems=[])


@pytest.mark.parametrize("how, expected", [
    # more sams than the inventory holds, over budget: breaks hard constraints
    (dict(extra_sams=3), "breaks"),
    # nothing deployed while the solver claims 247.5: the plan does not score what was claimed
    (dict(drop_everything=True), "re-scored"),
])
def test_a_plan_that_fails_the_independent_check_is_never_optimal(monkeypatch, tiny_path, tmp_path, how, expected):
    real = Solver.solve
    monkeypatch.setattr(Solver, "solve", lambda self, into_model=False: _tampered(real(self, into_model), **how))
    result = cowopt.solve(tiny_path)
    assert result.status == Status.ERROR and result.score is None
    assert result.check is not None and not result.check.passed
    assert any(expected in p for p in result.check.problems), result.check.problems
    assert result.check.re_solved_after  # it was solved a second time before giving up
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["solve", str(tiny_path), "-o", str(out), "--json", "--no-map"])
    assert run.exit_code == 4
    assert json.loads(run.output)["status"] == "error"
    assert not (out / "plan.xlsx").exists()


def test_a_first_wrong_answer_then_a_right_one_is_reported_as_checked_twice(monkeypatch, tiny_path, tmp_path):
    real = Solver.solve
    calls = []

    def first_wrong(self, into_model=False):
        calls.append(1)
        outcome = real(self, into_model)
        return _tampered(outcome, drop_everything=True) if len(calls) == 1 else outcome

    monkeypatch.setattr(Solver, "solve", first_wrong)
    result = cowopt.solve(tiny_path)
    assert result.status == Status.OPTIMAL
    assert result.score.objective == pytest.approx(247.5)
    assert result.check.passed and result.check.re_solved_after
    calls.clear()
    out = tmp_path / "out"
    run = CliRunner().invoke(main, ["solve", str(tiny_path), "-o", str(out), "--json", "--no-map"])
    assert run.exit_code == 0
    check = json.loads(run.output)["independent_check"]
    assert check["passed"] is True and check["re_solved_after"]
    summary = {row[0]: row for row in openpyxl.load_workbook(out / "plan.xlsx", read_only=True)["Summary"].iter_rows(values_only=True)}
    assert summary["independent check"][1] == "passed"
    assert "solved a second time" in summary["independent check"][2]


def test_every_plan_says_it_was_checked_and_the_figures_agree(tiny_path):
    result = cowopt.solve(tiny_path)
    check = result.check
    assert check.passed and not check.re_solved_after
    assert check.rescored_objective == pytest.approx(result.score.objective - result.score.rule_penalty)
    # the solver's objective differs from the re-scored one only by the cost tie-break
    assert 0 <= check.rescored_objective - check.solver_objective <= check.tolerance
    assert result.summary()["independent_check"]["passed"] is True
