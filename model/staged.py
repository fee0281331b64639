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
from cowopt.optimise.solve import Solver, Status
from cowopt.optimise.stages import build_staged, staged_counts, union_data
from cowopt.scoring.staged import StagedScore, score_staged


def solve_staged(data, threads, seconds: dict, progress=None) -> PlanResult:
    started = time.perf_counter()
    _tell(progress, f"computing allowed placements for {len(data.stages)} stages")
    cands = candidates_mod.build(union_data(data))
    model, sidx = build_staged(data, cands)
    seconds["build"] = time.perf_counter() - started
    _tell(progress, f"solving the staged model with HiGHS (time limit {data.settings['time_limit_s']:g} s)")
    solver = Solver(model, data.settings["time_limit_s"], data.settings["mip_gap"], threads)
    outcome = solver.solve(into_model=True)
    seconds["solve"] = outcome.seconds
    if not outcome.status.has_plan:
        return PlanResult(data, cands, outcome.status, outcome.detail, None, outcome, seconds,
                          diagnosis=["the staged model has no plan; the diagnosis of which demand must give way is "
                                     "not yet staged: solve each stage's picture on its own to find it"]
                          if outcome.status == Status.INFEASIBLE else [])
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
