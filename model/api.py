"""The Python API, mirroring the CLI: load, solve, evaluate.

Each step reports progress through an optional callback `progress(message)`; the CLI turns
that into a spinner, a notebook can pass `print`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import candidates as candidates_mod
from . import diagnose
from .candidates import Candidates
from .data import InputData, load
from .errors import InputError, Problem
from .evaluate import PlanScore, deployments_table, score
from .formulation import ModelIndex, build_model, split_deployments
from .greedy import greedy_start, start_coverage
from .solve import Solver, SolverOutcome, Status, highs_version

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
            "seconds": {k: round(v, 3) for k, v in self.seconds.items()},
            "violations": [str(v) for v in s.violations] if s else [],
            "unmet_rules": list(s.rules.loc[s.rules["status"] != "met", "rule_id"]) if s else [],
            "diagnosis": list(self.diagnosis),
            "warnings": list(self.data.warnings),
        }
        return out


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
    _tell(progress, "computing distances and allowed placements")
    started = time.perf_counter()
    cands = candidates_mod.build(data)
    fixed = dict(fixed or {})
    _check_fixed(data, cands, fixed)
    reasons = diagnose.precheck(data, cands, fixed)
    if reasons:
        seconds["build"] = time.perf_counter() - started
        return PlanResult(data, cands, Status.INFEASIBLE, "infeasible (found before solving)", None,
                          seconds=seconds, diagnosis=reasons)
    _tell(progress, f"building the model: {len(cands.placements):,} placements, {len(cands.cover_options):,} coverage cells")
    model, index = build_model(data, cands, fixed, fix_exact)
    seconds["build"] = time.perf_counter() - started
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
    counts = split_deployments(index, outcome.values["w"], outcome.values["y"])
    plan = deployments_table(data, counts)
    flows = pd.DataFrame([(e, s, v) for (e, s), v in outcome.values["f"].items()], columns=["entry_id", "site_id", "troops"])
    result_score = score(data, cands, plan[["state", "item", "site_id", "count"]], flows)
    seconds["score"] = time.perf_counter() - started
    return PlanResult(data, cands, outcome.status, outcome.detail, result_score, outcome, seconds)


def evaluate(inputs: InputData | str | Path, plan: pd.DataFrame | str | Path) -> PlanResult:
    """Score a (hand-edited) plan without optimising; violations are listed in `score.violations`."""
    from .planfile import read_plan

    started = time.perf_counter()
    data = load(inputs) if not isinstance(inputs, InputData) else inputs
    table = plan if isinstance(plan, pd.DataFrame) else read_plan(Path(plan))
    seconds = {"read": time.perf_counter() - started}
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
            reason = candidates_mod.state_exclusion(data, n, k) or candidates_mod.site_exclusion(
                data, k, s, cands.site_front_km[s], s in cands.reachable_sites) or f"{n} has no {k} in Inventory"
        # keys from planfile.fixed_from_plan know their plan file and rows; plain tuples do not
        file, rows = getattr(key, "file", "") or "--fix plan", getattr(key, "rows", ())
        where = f" (rows {', '.join(rows)})" if len(rows) > 1 else ""
        problems.append(Problem(file, "Deployments", rows[0] if rows else None,
                                f"cannot keep {count} {k} of {n} at {s}{where}: {reason}"))
    if problems:
        raise InputError(problems)
