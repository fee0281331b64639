"""Solve and evaluate a staged workbook (issue 14); `api.solve` / `api.evaluate` come here when
the workbook has a Stages sheet, and nowhere else changes for it.

The plan reported is scored by `scoring.staged.score_staged` from its rows, and the self-check
compares that score with HiGHS's objective and bound exactly as for a static plan
(docs/self-check.md): the staged objective is Σ_t weight_t (coverage_t − rule penalty_t) − eps · cost.
"""

from __future__ import annotations

import dataclasses
import math
import time

import pyomo.environ as pyo

from cowopt.api import PlanResult, SelfCheck, _tell
from cowopt.optimise import candidates as candidates_mod
from cowopt.optimise.formulation import cost_tiebreak
from cowopt.optimise.solve import Solver, SolverOutcome, Status, highs_version
from cowopt.optimise.stages import build_staged, rolling_start, stage_bounds, stage_pins, staged_counts, union_data
from cowopt.scoring.staged import StagedScore, score_staged


def solve_staged(data, threads, seconds: dict, progress=None, fixed: dict | None = None,
                 fix_exact: bool = False) -> PlanResult:
    """`fixed`: --fix pins; a key from a staged plan.xlsx keeps each row present from its
    arrival_stage on (stages.stage_pins), as a minimum or exactly with `fix_exact`."""
    from cowopt.api import _check_fixed

    started = time.perf_counter()
    _tell(progress, f"computing allowed placements for {len(data.stages)} stages")
    cands = candidates_mod.build(union_data(data))
    pins = {}
    if fixed:
        _check_fixed(data, cands, fixed)
        pins = stage_pins(data, fixed)
    model, sidx = build_staged(data, cands, pins, fix_exact)
    seconds["build"] = time.perf_counter() - started
    limit = float(data.settings["time_limit_s"])
    # HiGHS alone finds no staged plan for the example's four stages in 60 s, and proves one
    # slowly (gap 1e-3 left after 60 s when it found it). So: a plan built stage by stage from
    # static solves as the start (rolling_start), each stage bounded by its own static model
    # (stage_bounds, rows ineq_stage_bound), then HiGHS on the whole staged model.
    started = time.perf_counter()
    _tell(progress, "a first staged plan, stage by stage; bounding each stage by its static model")
    solver = _StagedSolver(model, limit, data.settings["mip_gap"], threads)
    solver.use_start = rolling_start(data, cands, model, sidx, max(1.0, limit / 8), pins, fix_exact)
    bounds = stage_bounds(data, cands, max(1.0, limit / 8))
    for t, bound in bounds.items():
        if bound is not None:
            model.stage_bound[t] = bound
    seconds["stages"] = time.perf_counter() - started
    outcome = _proven_by_bounds(data, model, sidx, bounds, seconds["stages"]) if solver.use_start else None
    if outcome is None:
        solver.time_limit_s = max(1.0, limit - seconds["stages"])
        _tell(progress, f"solving the staged model with HiGHS (time limit {solver.time_limit_s:g} s)")
        outcome = solver.solve(into_model=True)
    seconds["solve"] = outcome.seconds
    if not outcome.status.has_plan:
        diagnosis = []
        if outcome.status == Status.INFEASIBLE:
            from cowopt.optimise.diagnose import elastic_staged

            _tell(progress, "infeasible: looking for the demands that conflict, stage by stage")
            diagnosis = elastic_staged(data, cands, pins, fix_exact, limit)
        return PlanResult(data, cands, outcome.status, outcome.detail, None, outcome, seconds, diagnosis=diagnosis)
    started = time.perf_counter()
    values = {t: {name: {key: pyo.value(var) for key, var in getattr(model.stage[t], name).items()}
                  for name in ("w", "y")} for t in sidx.stages}
    rows = staged_counts(sidx, values, bool(data.settings["allow_withdrawal"]))
    import pandas as pd

    plan = pd.DataFrame(rows, columns=["state", "item", "site_id", "count", "arrival_stage", "leave_stage"])
    staged = score_staged(data, cands, plan)
    seconds["score"] = time.perf_counter() - started
    check = self_check_staged(data, cands, outcome, staged)
    return PlanResult(data, cands, outcome.status, outcome.detail, _headline(staged), outcome, seconds,
                      check=check, staged=staged)


def _proven_by_bounds(data, model, sidx, bounds: dict, seconds: float) -> SolverOutcome | None:
    """The stage-by-stage plan as the answer when it is within mip_gap of Σ_t weight_t × bound_t
    (each bound proven by HiGHS on that stage's static model, a relaxation of the stage): then
    no staged plan can be better by more than the gap, and HiGHS's root LP on the whole staged
    model (7 s of the example's 15) adds nothing. The plan's rows are checked in Pyomo first;
    the scorer re-scores it apart from the model like any plan."""
    if any(bounds.get(t) is None for t in sidx.stages):
        return None
    for var in model.component_data_objects(pyo.Var, descend_into=True):
        if var.value is None:
            var.set_value(0, skip_validation=True)
    for row in model.component_data_objects(pyo.Constraint, active=True, descend_into=True):
        body = pyo.value(row.body)
        lower, upper = pyo.value(row.lower) if row.lower is not None else None, pyo.value(row.upper) if row.upper is not None else None
        if (lower is not None and body < lower - 1e-6) or (upper is not None and body > upper + 1e-6):
            return None
    objective = pyo.value(model.obj)
    upper = sum(sidx.weight[t] * bounds[t] for t in sidx.stages)
    gap = (upper - objective) / max(abs(objective), 1e-9)
    if gap > float(data.settings["mip_gap"]):
        return None
    return SolverOutcome(Status.OPTIMAL, "Optimal (the stage-by-stage plan is within mip_gap of the stages' static "
                         "bounds)", objective, upper, max(gap, 0.0), 0.0, 0, "HiGHS", highs_version())


class _StagedSolver(Solver):
    """The Solver with a whole-model MIP start: the values the Pyomo variables hold (the first
    run's plan, loaded with into_model) for every block's variables. On large models the
    LP-guided heuristic runs as for a static one, from that start: Solver._item_columns gives
    it each item's w and y of every stage block."""

    use_start = False
    always_start = True

    def wants_start(self) -> bool:
        return False

    def _solve_once(self, into_model: bool):
        if self.use_start:
            self._start = {}  # non-empty marker; _start_columns reads the model's values
        return super()._solve_once(into_model)

    def _start_columns(self) -> list:
        """The values the Pyomo variables hold, as HiGHS's column values."""
        var_map = self._highs._pyomo_var_to_solver_var_map
        columns = [0.0] * self._highs._solver_model.getNumCol()
        for var in self.model.component_data_objects(pyo.Var, descend_into=True):
            column = var_map.get(id(var))
            if column is not None and var.value is not None:
                columns[column] = float(var.value)
        return columns


def evaluate_staged(data, table, seconds: dict) -> PlanResult:
    cands = candidates_mod.build(union_data(data))
    started = time.perf_counter()
    staged = score_staged(data, cands, table)
    seconds["score"] = time.perf_counter() - started
    ok = not staged.violations
    return PlanResult(data, cands, Status.OPTIMAL if ok else Status.INFEASIBLE,
                      "plan meets every constraint" if ok else f"{len(staged.violations)} violation(s)",
                      _headline(staged), None, seconds, mode="evaluate", staged=staged)


def _headline(staged: StagedScore):
    """The last stage's score carries the whole plan's rows and every stage's violations."""
    final = staged.final
    return dataclasses.replace(final, violations=list(staged.violations), deployments=staged.deployments)


def self_check_staged(data, cands, outcome, staged: StagedScore) -> SelfCheck:
    eps = cost_tiebreak(data, cands) * min([w for w in data.stages["weight"] if w > 0] or [1.0])
    tie_break = eps * max(staged.cost_meur, float(data.settings["budget_meur"]))
    rescored = staged.objective
    tolerance = max(1e-4, 1e-6 * abs(rescored)) + tie_break
    problems = list(outcome.solution_problems)
    if outcome.objective is not None and rescored < outcome.objective - tolerance:
        problems.append(f"the solver reported objective {outcome.objective:,.4f} but its staged plan scores "
                        f"{rescored:,.4f} when re-scored apart from the model")
    bound = outcome.bound
    if bound is not None and math.isfinite(bound) and rescored - tie_break > bound + tolerance:
        problems.append(f"the staged plan scores {rescored:,.4f}, above the solver's proven bound {bound:,.4f}")
    if staged.violations:
        shown = "; ".join(str(v) for v in staged.violations[:3])
        problems.append(f"the solver's staged plan breaks {len(staged.violations)} hard constraint(s): {shown}")
    return SelfCheck(outcome.objective, rescored, bound, tolerance, problems, list(outcome.resolved_after))
