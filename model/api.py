"""The Python API, mirroring the CLI: load, solve, evaluate.

Each step reports progress through an optional callback `progress(message)`; the CLI turns
that into a spinner, a notebook can pass `print`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cowopt.optimise import candidates as candidates_mod
from cowopt.optimise import diagnose
from cowopt.optimise.candidates import Candidates
from cowopt.workbook.data import InputData, load
from cowopt.errors import InputError, Problem
from cowopt.scoring.evaluate import PlanScore, deployments_table, score
from cowopt.optimise.formulation import ModelIndex, build_model, cost_tiebreak, split_deployments
from cowopt.optimise.greedy import greedy_start, start_coverage
from cowopt.optimise.solve import Solver, SolverOutcome, Status, highs_version

logger = logging.getLogger(__name__)
Progress = Callable[[str], None] | None


@dataclass
class PlanResult:
    """What a solve or an evaluation produced; `score` is None when there is no plan."""

    data: InputData
    candidates: Candidates
    status: Status
    detail: str
    score: PlanScore | None
    outcome: SolverOutcome | None = None
    seconds: dict = field(default_factory=dict)  # read, build, solve, score
    diagnosis: list = field(default_factory=list)  # planner-readable reasons (infeasible)
    mode: str = "solve"  # or "evaluate"
    check: SelfCheck | None = None  # the independent check of a solver's plan (None: evaluate, or no plan)
    staged: object = None  # scoring.staged.StagedScore when the workbook has Stages (issue 14)

    @property
    def has_plan(self) -> bool:
        return self.score is not None

    def summary(self) -> dict:
        """Headline figures, JSON-ready (the CLI's --json)."""
        s, o = self.score, self.outcome
        out = {
            "status": self.status.value,
            "detail": self.detail,
            "input_file": self.data.source,
            "input_sha256": self.data.sha256,
            "mode": self.mode,
            "objective": round(s.objective, 6) if s else None,
            "max_objective": round(s.max_objective, 6) if s else None,
            "coverage_share": {k: round(v, 6) for k, v in s.capability_shares.items()} if s else None,
            "troops": s.troops if s else None,
            "cost_meur": round(s.cost_meur, 6) if s else None,
            "budget_meur": float(self.data.settings["budget_meur"]),
            "rule_penalty": round(s.rule_penalty, 6) if s else None,
            "gap": o.gap if o else None,
            "solver_objective": o.objective if o else None,  # coverage - penalties - cost tie-break
            "solver_bound": o.bound if o else None,
            "solver": f"{o.solver} {o.solver_version}" if o else f"HiGHS {highs_version()}",
            "solve_path": o.path if o else None,  # compact, greedy start, heuristic start (solve.py)
            "heuristic_steps": [[step, round(t, 3), round(v, 6)] for step, t, v in o.heuristic_steps] if o else [],
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "violations": [str(v) for v in s.violations] if s else [],
            "unmet_rules": list(s.rules.loc[s.rules["status"] != "met", "rule_id"]) if s else [],
            "diagnosis": list(self.diagnosis),
            "warnings": list(self.data.warnings),
            "independent_check": self.check.as_dict() if self.check else None,
        }
        if self.staged is not None:  # a staged plan: the headline is the last stage; the objective is over stages
            out["protection_weeks"] = round(self.staged.objective, 6)
            out["stages"] = self.staged.stage_table[["stage_id", "coverage", "share", "troops", "cost_meur"]].round(
                6).to_dict(orient="records")
            out["cost_meur"] = round(self.staged.cost_meur, 6)
        return out


@dataclass
class SelfCheck:
    """The solver's plan re-scored apart from the model: the scorer's objective for the
    extracted plan against HiGHS's objective and bound, and every hard constraint checked by
    `evaluate`'s checker. `problems` empty means the plan is what the solver says it is."""

    solver_objective: float | None
    rescored_objective: float | None  # coverage - soft-rule penalties, by the independent scorer
    solver_bound: float | None
    tolerance: float
    problems: list = field(default_factory=list)
    re_solved_after: list = field(default_factory=list)  # a first attempt's problems, when solved again

    @property
    def passed(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {"passed": self.passed, "solver_objective": self.solver_objective,
                "rescored_objective": self.rescored_objective, "solver_bound": self.solver_bound,
                "tolerance": self.tolerance, "problems": list(self.problems),
                "re_solved_after": list(self.re_solved_after)}

    def note(self) -> str:
        """One line for the Summary sheet and the terminal."""
        if not self.passed:
            return "FAILED: " + "; ".join(self.problems)
        text = (f"passed: plan re-scored apart from the model ({self.rescored_objective:,.3f}; solver "
                f"{self.solver_objective:,.3f}), every hard constraint met")
        if self.re_solved_after:
            text += "; solved a second time after the first answer failed (" + "; ".join(self.re_solved_after) + ")"
        return text


def self_check(data: InputData, cands: Candidates, outcome: SolverOutcome, plan_score: PlanScore) -> SelfCheck:
    """Does the solver's plan score what the solver says, and meet every hard constraint?

    The solver maximises coverage − soft-rule penalties − eps·cost (eps: the cost tie-break,
    worth < 1/1000 of the smallest coverage step over the whole budget). The scorer credits
    every covered cell in full, so for the same plan `rescored ≥ solver objective` up to
    rounding, and `rescored − tie-break ≤ bound`. Breaking either means the numbers HiGHS
    handed back are not the plan it scored (a stale or corrupted solution) or its bound is
    wrong; neither may be called optimal."""
    rescored = plan_score.objective - plan_score.rule_penalty
    solver_objective, bound = outcome.objective, outcome.bound
    tie_break = cost_tiebreak(data, cands) * max(plan_score.cost_meur, float(data.settings["budget_meur"]))
    tolerance = max(1e-4, 1e-6 * abs(rescored)) + tie_break
    problems = list(outcome.solution_problems)
    if solver_objective is not None and rescored < solver_objective - tolerance:
        problems.append(f"the solver reported objective {solver_objective:,.4f} but its plan scores "
                        f"{rescored:,.4f} when re-scored apart from the model")
    if bound is not None and math.isfinite(bound) and rescored - tie_break > bound + tolerance:
        problems.append(f"the plan scores {rescored:,.4f}, above the solver's proven bound {bound:,.4f}: the bound is wrong")
    if plan_score.violations:
        shown = "; ".join(str(v) for v in plan_score.violations[:3])
        more = f" (and {len(plan_score.violations) - 3} more)" if len(plan_score.violations) > 3 else ""
        problems.append(f"the solver's plan breaks {len(plan_score.violations)} hard constraint(s): {shown}{more}")
    return SelfCheck(solver_objective, rescored, bound, tolerance, problems, list(outcome.resolved_after))


def _tell(progress: Progress, message: str) -> None:
    logger.info(message)
    if progress:
        progress(message)


def solve(
    inputs: InputData | str | Path,
    *,
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    fixed: dict | None = None,
    fix_exact: bool = False,
    start_plan: bool = True,
    progress: Progress = None,
) -> PlanResult:
    """Optimise the allocation. `fixed` maps (state, item, site_id) -> count kept as a minimum
    (or exactly with fix_exact). `start_plan` gives HiGHS a greedy plan as a MIP start.
    `threads` >= 2 runs HiGHS's parallel tree search; None keeps its serial search.
    Returns a PlanResult whose status says what happened."""
    seconds = {}
    started = time.perf_counter()
    data = load(inputs) if not isinstance(inputs, InputData) else inputs
    seconds["read"] = time.perf_counter() - started
    data = data.with_settings(time_limit_s=time_limit_s, mip_gap=mip_gap)
    if data.staged:  # issue 14: a Stages sheet; without one, nothing below changes
        from cowopt.staged import solve_staged

        return solve_staged(data, threads, seconds, progress, fixed, fix_exact)
    _tell(progress, "computing distances and allowed placements")
    started = time.perf_counter()
    cands = candidates_mod.build(data)
    fixed = dict(fixed or {})
    _check_fixed(data, cands, fixed)
    reasons = diagnose.precheck(data, cands, fixed)
    seconds["build"] = time.perf_counter() - started
    if reasons:
        return PlanResult(data, cands, Status.INFEASIBLE, "infeasible (found before solving)", None,
                          seconds=seconds, diagnosis=reasons)
    result = _build_and_solve(data, cands, fixed, fix_exact, threads, start_plan, seconds, progress)
    return checked(result, lambda: _build_and_solve(data, cands, fixed, fix_exact, threads, start_plan,
                                                    dict(seconds), progress), progress)


def _build_and_solve(data, cands, fixed, fix_exact, threads, start_plan, seconds, progress) -> PlanResult:
    """One attempt: build the model afresh, solve it, score the plan."""
    started = time.perf_counter()
    _tell(progress, f"building the model: {len(cands.placements):,} placements, {len(cands.cover_options):,} coverage cells")
    model, index = build_model(data, cands, fixed, fix_exact)
    seconds["build"] = seconds.get("build", 0.0) + time.perf_counter() - started
    _tell(progress, f"solving with HiGHS (time limit {data.settings['time_limit_s']:g} s, gap {data.settings['mip_gap']:g})")
    solver = Solver(model, data.settings["time_limit_s"], data.settings["mip_gap"], threads)
    if start_plan and solver.wants_start():
        started = time.perf_counter()
        start = greedy_start(data, cands, index)
        solver.set_start(start)
        seconds["greedy"] = time.perf_counter() - started
        _tell(progress, f"greedy start: coverage {start_coverage(data, cands, start):,.1f}")
    outcome = solver.solve()
    seconds["solve"] = outcome.seconds
    return finish(data, cands, index, outcome, seconds, progress)


def checked(result: PlanResult, solve_again: Callable[[], PlanResult], progress: Progress = None) -> PlanResult:
    """The self-check's policy: a plan whose independent check failed is solved once more from
    a freshly built model; if that fails too, the result is an error (no plan, exit 4)."""
    if result.check is None or result.check.passed:
        return result
    first = result.check.problems
    logger.warning("the solver's plan failed the independent check (%s); solving again from a fresh model",
                   "; ".join(first))
    _tell(progress, "the solver's plan failed the independent check: solving again from a fresh model")
    again = solve_again()
    if again.check is not None:
        again.check.re_solved_after = list(first) + again.check.re_solved_after
    if again.check is None or again.check.passed:
        return again
    problems = again.check.problems
    return PlanResult(again.data, again.candidates, Status.ERROR,
                      "the solver's plan failed the independent check twice; no plan is reported",
                      None, again.outcome, again.seconds,
                      diagnosis=[f"independent check: {p}" for p in problems], check=again.check)


def finish(data: InputData, cands: Candidates, index: ModelIndex, outcome: SolverOutcome, seconds: dict,
           progress: Progress = None) -> PlanResult:
    """Turn a solver outcome into a scored PlanResult (or a diagnosis when infeasible)."""
    if not outcome.status.has_plan:
        diagnosis = []
        if outcome.status == Status.INFEASIBLE:
            _tell(progress, "infeasible: looking for the demands that conflict")
            diagnosis = diagnose.elastic(data, cands)
        return PlanResult(data, cands, outcome.status, outcome.detail, None, outcome, seconds, diagnosis)
    started = time.perf_counter()
    flows = pd.DataFrame([(e, s, v) for (e, s), v in outcome.values["f"].items()], columns=["entry_id", "site_id", "troops"])
    result_score = score(data, cands, _solver_plan(data, index, outcome), flows)
    seconds["score"] = time.perf_counter() - started
    check = self_check(data, cands, outcome, result_score)
    return PlanResult(data, cands, outcome.status, outcome.detail, result_score, outcome, seconds, check=check)


def evaluate(inputs: InputData | str | Path, plan: pd.DataFrame | str | Path) -> PlanResult:
    """Score a (hand-edited) plan without optimising; violations are listed in `score.violations`."""
    from cowopt.workbook.planfile import read_plan

    started = time.perf_counter()
    data = load(inputs) if not isinstance(inputs, InputData) else inputs
    table = plan if isinstance(plan, pd.DataFrame) else read_plan(Path(plan))
    seconds = {"read": time.perf_counter() - started}
    if data.staged:
        from cowopt.staged import evaluate_staged

        return evaluate_staged(data, table, seconds)
    cands = candidates_mod.build(data)
    started = time.perf_counter()
    result_score = score(data, cands, table)
    seconds["score"] = time.perf_counter() - started
    status = Status.OPTIMAL if result_score.feasible else Status.INFEASIBLE
    detail = "plan meets every constraint" if result_score.feasible else f"{len(result_score.violations)} violation(s)"
    return PlanResult(data, cands, status, detail, result_score, None, seconds, mode="evaluate")


def _check_fixed(data: InputData, cands: Candidates, fixed: dict) -> None:
    """Every pinned deployment must be an allowed placement; say why one is not."""
    allowed = set(cands.placements[["state", "item", "site_id"]].itertuples(index=False, name=None))
    problems = []
    for key, count in fixed.items():
        n, k, s = key
        if (n, k, s) in allowed:
            continue
        unknown = [f"{what} '{name}' is not in the {sheet} sheet" for what, name, sheet, index in (
            ("state", n, "States", data.states.index), ("item", k, "UnitTypes or AirDefenceTypes", data.items.index),
            ("site", s, "Sites", data.sites.index)) if name not in index]
        reason = "; ".join(unknown)
        if not unknown:
            reason = candidates_mod.placement_exclusion(data, cands, n, k, s) or f"{n} has no {k} in Inventory"
        # keys from planfile.fixed_from_plan know their plan file and rows; plain tuples do not
        file, rows = getattr(key, "file", "") or "--fix plan", getattr(key, "rows", ())
        where = f" (rows {', '.join(rows)})" if len(rows) > 1 else ""
        problems.append(Problem(file, "Deployments", rows[0] if rows else None,
                                f"cannot keep {count} {k} of {n} at {s}{where}: {reason}"))
    if problems:
        raise InputError(problems)


def rescore_routed(data: InputData, cands: Candidates, index: ModelIndex, outcome: SolverOutcome) -> PlanScore:
    """The solver's plan scored apart from the model, the scorer routing the troops itself.

    For objectives without the cost tie-break (the decision models: alternatives, robust plans).
    The scorer's min-cost transport LP is integral for whole troops; the solver's continuous
    flows, rounded to whole troops, can cost a hair more, so a plan that spends the budget to the
    euro would "break" it by rounding (seen: 8,000.0 of 8,000.0 on the example, robust against a
    state)."""
    return score(data, cands, _solver_plan(data, index, outcome))


def _solver_plan(data: InputData, index: ModelIndex, outcome: SolverOutcome) -> pd.DataFrame:
    """The (state, item, site_id, count) rows of a solver outcome's w and y."""
    plan = deployments_table(data, split_deployments(index, outcome.values["w"], outcome.values["y"]))
    return plan[["state", "item", "site_id", "count"]]
