"""The greedy starting plan is feasible and scores what it claims; a MIP start changes no optimum."""

from __future__ import annotations

import importlib

import pytest

import cowopt
from cowopt.optimise import candidates
from cowopt.scoring.evaluate import deployments_table, score
from cowopt.optimise.formulation import build_model, split_deployments
from cowopt.optimise.greedy import greedy_start, start_coverage

solve_module = importlib.import_module("cowopt.optimise.solve")  # `cowopt.solve` the attribute is the API function


def _greedy_plan(data):
    cands = candidates.build(data)
    _, index = build_model(data, cands)
    start = greedy_start(data, cands, index)
    w = {key: v for (name, key), v in start.items() if name == "w"}
    y = {key: v for (name, key), v in start.items() if name == "y"}
    plan = deployments_table(data, split_deployments(index, w, y))
    return cands, start, score(data, cands, plan[["state", "item", "site_id", "count"]])


@pytest.mark.parametrize("budget", [300.0, 700.0, 1000.0])
def test_greedy_plan_on_tiny_is_feasible_and_scored_right(tiny_tables: dict, budget: float) -> None:
    data = cowopt.from_tables(tiny_tables).with_settings(budget_meur=budget)
    cands, start, scored = _greedy_plan(data)
    assert scored.violations == []
    assert start_coverage(data, cands, start) == pytest.approx(scored.objective)
    assert scored.objective <= cowopt.solve(data).score.objective + 1e-9  # never above the optimum


def test_greedy_plan_on_the_example_meets_every_constraint(example_path) -> None:
    data = cowopt.load(example_path)
    cands, start, scored = _greedy_plan(data)
    assert scored.violations == []  # caps, capacity, throughput, budget, mission minimum, hard rules, core lead
    assert start_coverage(data, cands, start) == pytest.approx(scored.objective)
    optimum = cowopt.solve(data).score.objective
    assert 0.5 * optimum <= scored.objective <= optimum + 1e-9  # a useful start (measured: 80 % of it)


def test_a_mip_start_leaves_the_optimum_unchanged(tiny_tables: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    data = cowopt.from_tables(tiny_tables).with_settings(budget_meur=700.0)
    plain = cowopt.solve(data)
    monkeypatch.setattr(solve_module, "START_ABOVE_NONZEROS", 0)  # give the start to this small model too
    started = cowopt.solve(data)
    assert "greedy" in started.seconds
    assert started.score.objective == pytest.approx(plain.score.objective)
