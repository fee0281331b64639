"""Robust plans: maximise the worst-case coverage over single losses of one kind (max–min).

A scenario-expanded MIP on formulation.build_model's model: for every loss ω (a site struck,
a contributor withdrawing, a crossing closing) a copy of the coverage levels z^ω whose rows
count only the units that survive ω, and
    t ≤ coverage^ω − soft-rule penalties   for every ω,
maximising t (plus a tie-break worth less than the smallest coverage step: the best nominal
coverage among the most robust plans). For `state`, every state is its own group (each gets
its own y[k,s,n]), so a withdrawal removes exactly its units. For `entry`, the units at sites
no remaining crossing reaches within max_route_km are lost; the throughput the remaining
crossings lack is not modelled (stress reports it).

The answer is checked apart from the model: both the nominal optimum's and the robust plan's
worst cases are recomputed by the stress scorer (stress.py), and their nominal coverage by
evaluate.score.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pyomo.environ as pyo

from cowopt import api
from cowopt.optimise import candidates as candidates_mod
from cowopt.workbook.data import InputData
from cowopt.optimise.families.base import linear_sum, weighted_sum
from cowopt.optimise.formulation import build_model, coverage_classes
from cowopt.optimise.solve import Solver, Status
from cowopt.scoring.stress import Loss, _Scorer, without_entries

KINDS = ("site", "state", "entry")
METHODS = ("expanded", "rowgen")


@dataclass
class RobustResult:
    against: str
    nominal: api.PlanResult  # the ordinary optimum
    robust: api.PlanResult  # the max-min plan (score None when none was found)
    scenarios: pd.DataFrame  # per loss: coverage left under each plan, by the stress scorer
    summary: dict
    seconds: float


def solve_robust(data: InputData, against: str, *, method: str = "expanded", time_limit_s: float = 60.0,
                 mip_gap: float | None = None, progress: Callable[[str], None] | None = None) -> RobustResult:
    """method: "expanded" (every loss in one MIP) or "rowgen" (losses added while the plan's
    worst case is not yet held); time_limit_s for each of the nominal solve and the robust search."""
    started = time.perf_counter()
    tell = progress or (lambda message: None)
    if against not in KINDS or method not in METHODS:
        raise ValueError(f"against: one of {', '.join(KINDS)}; method: one of {', '.join(METHODS)}")
    tell("solving the ordinary optimum")
    nominal = api.solve(data, time_limit_s=time_limit_s, mip_gap=mip_gap)
    if not nominal.has_plan:  # no plan at all: no robust plan either, for the same reasons
        robust = api.PlanResult(data, nominal.candidates, nominal.status, nominal.detail, None, None, {},
                                diagnosis=list(nominal.diagnosis))
        scenarios, summary = _compare(data, nominal, robust, against)
        summary.update(method=method, status=robust.status.value, scenarios=0)
        return RobustResult(against, nominal, robust, scenarios, summary, time.perf_counter() - started)
    cands = candidates_mod.build(data)
    fixed = {}
    if against == "state":  # a pin of 0 units changes nothing but gives every state its own group
        fixed = {key: 0 for key in cands.placements[["state", "item", "site_id"]].itertuples(index=False, name=None)}
    tell(f"building the max–min model ({against} losses, {method})")
    model, index = build_model(data, cands, fixed)
    losses = _losses(data, index, against)
    gap = float(data.settings["mip_gap"]) if mip_gap is None else mip_gap
    used = len(losses)
    if method == "expanded":
        _add_scenarios(model, data, cands, index, against, losses)
        tell(f"solving the max–min model over {len(losses)} losses")
        outcome = Solver(model, time_limit_s, gap).solve()
        robust = _result(data, cands, index, outcome)
    else:
        outcome, robust, chosen = _row_generation(data, cands, index, model, against, losses, nominal,
                                                  time_limit_s, gap, tell)
        used = len(chosen)
        if robust is None:  # not one robust solve fitted in the time: the nominal plan stands
            robust = nominal
    scenarios, summary = _compare(data, nominal, robust, against)
    summary.update(method=method, solver_objective=outcome.objective if outcome else None,  # t + a tiny tie-break
                   status=robust.status.value, scenarios=len(losses), losses_in_model=used,
                   solve_seconds=round(outcome.seconds, 3) if outcome else None, gap=outcome.gap if outcome else None)
    return RobustResult(against, nominal, robust, scenarios, summary, time.perf_counter() - started)


def _losses(data: InputData, index, against: str) -> list[tuple[str, set]]:
    """(name, the stands (k, s, g) lost) per loss."""
    if against == "site":
        return [(s, {t for t in index.by_site[s]}) for s in sorted(index.by_site)]
    if against == "state":
        return [(g, {t for t in index.stands if t[2] == g}) for g in sorted(index.members)]
    out = []
    for e in data.entry_points.index:
        reachable = candidates_mod.build(without_entries(data, [e])).reachable_sites
        out.append((e, {t for t in index.stands if t[1] not in reachable}))
    return out


def _add_scenarios(model, data, cands, index, against: str, losses: list) -> None:
    """The scenario-expanded model: every loss's coverage copy at once."""
    classes = _prepare(model, data, cands)
    for w, (_, lost) in enumerate(losses):
        _add_loss(model, data, index, classes, w, lost)


def _prepare(model, data, cands) -> list:
    """t, the row lists and the max-min objective; losses are added by _add_loss."""
    classes = coverage_classes(cands)
    levels = list(data.level_weights)
    model.rob_t = pyo.Var(doc="worst-case coverage − penalties")
    model.rob_cover = pyo.ConstraintList(doc="coverage after a loss needs surviving units")
    model.rob_worst = pyo.ConstraintList(doc="t below every loss's coverage")
    model.obj.deactivate()
    steps = [cls[2] for cls in classes if cls[2] > 0]
    smallest = (min(steps) if steps else 1.0) * min(levels)
    # the nominal tie-break over the whole coverage range stays below a thousandth of one step
    eps = 1e-3 * smallest / max(sum(cls[2] for cls in classes) * sum(levels), 1.0)
    model.rob_obj = pyo.Objective(expr=model.rob_t + eps * (model.coverage_score - model.rule_penalty), sense=pyo.maximize)
    return classes


def _add_loss(model, data, index, classes, w: int, lost: set) -> None:
    """Loss w's copy of the coverage levels, counting only the units that survive it."""
    levels = list(data.level_weights)
    z = pyo.Var(model.A, model.L, bounds=(0, 1), doc=f"coverage levels after loss {w}")
    model.add_component(f"rob_z_{w}", z)
    for j, (_, options, _, _) in enumerate(classes):
        surviving = [model.y[t] for pair in options for t in index.by_item_site.get(pair, ()) if t not in lost]
        levels_sum = linear_sum(z[j, l] for l in model.L)
        model.rob_cover.add(levels_sum <= linear_sum(surviving) if surviving else levels_sum <= 0)
    coverage = weighted_sum((classes[j][2] * levels[l - 1], z[j, l]) for j in model.A for l in model.L)
    model.rob_worst.add(model.rob_t <= coverage - model.rule_penalty)


def _row_generation(data, cands, index, model, against: str, losses: list, nominal, time_limit_s: float,
                    gap: float, tell) -> tuple:
    """Losses enter the model one at a time, starting with the nominal plan's worst: solve with
    the losses so far, score the plan against every loss (the stress scorer), add the worst one
    not yet in the model. The model's optimum over a subset of losses bounds the max-min from
    above, so once the plan's worst case over all losses equals its worst over the subset, the
    plan is the max-min plan. Returns (last outcome, its PlanResult, the losses used)."""
    classes = _prepare(model, data, cands)
    by_name = dict(losses)
    chosen: list = []
    deadline = time.perf_counter() + time_limit_s
    plan, outcome, result, converged = nominal.score.deployments, None, None, False
    while True:
        table = worst_case(data, plan, against)
        after = {n: c for n, c in zip(table["name"], table["coverage_after"]) if n in by_name}
        if outcome is not None:
            held = min(after[n] for n in chosen)
            converged = min(after.values()) >= held - 1e-6 * max(1.0, abs(held)) and outcome.status == Status.OPTIMAL
            if converged or outcome.status != Status.OPTIMAL:
                break  # the max-min plan, or no proof to build on (time limit)
        remaining = [n for n in after if n not in chosen]
        left = deadline - time.perf_counter()
        if not remaining or left <= 0.5:
            break
        chosen.append(min(remaining, key=lambda n: (after[n], str(n))))
        _add_loss(model, data, index, classes, len(chosen) - 1, by_name[chosen[-1]])
        tell(f"row generation: {len(chosen)} of {len(losses)} losses in the model")
        outcome = Solver(model, left, gap).solve()
        result = _result(data, cands, index, outcome)
        if result.score is None:
            break
        plan = result.score.deployments
    if result is not None and result.score is not None and not converged:
        result.status = Status.FEASIBLE
        result.detail = f"row generation stopped before the worst case was proven ({len(chosen)} losses in the model)"
    return outcome, result, chosen


def _result(data, cands, index, outcome) -> api.PlanResult:
    seconds = {"solve": outcome.seconds}
    if not outcome.status.has_plan:
        return api.PlanResult(data, cands, outcome.status, outcome.detail, None, outcome, seconds)
    plan_score = api.rescore_routed(data, cands, index, outcome)  # routed by the scorer, see there
    if plan_score.violations:
        problems = [str(v) for v in plan_score.violations]
        return api.PlanResult(data, cands, Status.ERROR, "the robust plan failed the independent check: "
                              + "; ".join(problems), None, outcome, seconds, diagnosis=problems)
    return api.PlanResult(data, cands, outcome.status, outcome.detail, plan_score, outcome, seconds)


def worst_case(data: InputData, plan: pd.DataFrame, against: str) -> pd.DataFrame:
    """Coverage left after each single loss of one kind, by the stress scorer (apart from the model)."""
    cands = candidates_mod.build(data)
    plan = plan[["state", "item", "site_id", "count"]]
    scorer = _Scorer(data, cands, plan, None)
    names = {"site": data.sites.index, "state": data.states.index, "entry": data.entry_points.index}[against]
    rows = [dict(scorer.row((Loss(against, n),)), name=n) for n in names]
    return pd.DataFrame(rows)[["loss", "name", "lost", "coverage_after", "coverage_lost"]]


def _compare(data, nominal, robust, against: str) -> tuple[pd.DataFrame, dict]:
    summary = {"against": against}
    frames = []
    for name, result in (("nominal", nominal), ("robust", robust)):
        if result.score is None:
            summary[f"{name}_coverage"] = summary[f"{name}_worst_case"] = summary[f"{name}_worst_loss"] = None
            continue
        table = worst_case(data, result.score.deployments, against)
        worst = table.sort_values(["coverage_after", "loss"]).iloc[0]
        summary[f"{name}_coverage"] = round(result.score.objective, 6)
        summary[f"{name}_worst_case"] = round(float(worst["coverage_after"]), 6)
        summary[f"{name}_worst_loss"] = worst["lost"]
        frames.append(table.set_index(["loss", "lost"])["coverage_after"].rename(f"{name}_coverage_after"))
    if summary.get("robust_coverage") is not None and summary.get("nominal_coverage") is not None:
        summary["price_of_robustness"] = round(summary["nominal_coverage"] - summary["robust_coverage"], 6)
        summary["worst_case_gain"] = round(summary["robust_worst_case"] - summary["nominal_worst_case"], 6)
    scenarios = pd.concat(frames, axis=1).reset_index() if frames else pd.DataFrame()
    if "robust_coverage_after" in scenarios and "nominal_coverage_after" in scenarios:
        scenarios = scenarios.sort_values(["robust_coverage_after", "loss"]).reset_index(drop=True)
    return scenarios, summary
