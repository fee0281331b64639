"""Near-optimal alternatives: plans within P % of the optimum, each as different as possible
from the ones before (modelling to generate alternatives, as PyPSA's MGA and Calliope's SPORES).

Difference is counted on site–item choices: which items stand at which sites (b[k,s] = 1 when
any unit of item k stands at site s). Alternative i maximises its least Hamming distance to
the optimum and to alternatives 1..i-1 (max–min, so no earlier plan is merely reshuffled),
subject to everything the model demands and
    coverage − soft-rule penalties ≥ (1 − P) · (the optimum's coverage − penalties).
The model is formulation.build_model's, with these variables, rows and objective added here.
Every alternative is re-scored by evaluate.score, apart from the model: its coverage must
honour the P % and it must break no hard constraint, or it is reported as failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
import pyomo.environ as pyo

from cowopt import api
from cowopt.workbook.data import InputData
from cowopt.optimise.families.base import linear_sum
from cowopt.optimise.formulation import build_model
from cowopt.optimise.solve import Solver, Status


@dataclass
class Alternatives:
    optimum: api.PlanResult
    plans: list  # PlanResult per alternative (score None when none was found)
    within: float  # P as a fraction
    floor: float  # the least objective an alternative may have
    comparison: pd.DataFrame = field(default_factory=pd.DataFrame)
    seconds: float = 0.0


def choices(plan: pd.DataFrame) -> frozenset:
    """The site–item choices of a plan: (item, site_id) with at least one unit."""
    return frozenset((k, s) for k, s, c in zip(plan["item"], plan["site_id"], plan["count"]) if c > 0)


def hamming(a: frozenset, b: frozenset) -> int:
    return len(a ^ b)


def find_alternatives(data: InputData, count: int, within: float, *, time_limit_s: float = 15.0,
                      mip_gap: float = 0.01, progress: Callable[[str], None] | None = None) -> Alternatives:
    """The optimum and `count` alternatives within `within` (a fraction) of it."""
    started = time.perf_counter()
    tell = progress or (lambda message: None)
    tell("solving for the optimum")
    optimum = api.solve(data)
    if not optimum.has_plan:
        return Alternatives(optimum, [], within, float("nan"), seconds=time.perf_counter() - started)
    best = optimum.score.objective - optimum.score.rule_penalty
    floor = best - within * abs(best)
    cands = optimum.candidates
    model, index = build_model(data, cands)
    _add_difference_model(model, index, floor, optimum.score.max_objective)
    earlier = [choices(optimum.score.deployments)]
    plans = []
    for i in range(1, count + 1):
        tell(f"alternative {i} of {count}: as far as possible from {len(earlier)} earlier plan(s)")
        _forbid_closeness(model, earlier[-1])
        solver = Solver(model, time_limit_s, mip_gap)  # a fresh HiGHS model: rows were added
        outcome = solver.solve()
        result = _result(data, cands, index, outcome, floor)
        plans.append(result)
        if result.has_plan:
            earlier.append(choices(result.score.deployments))
        else:
            break  # no further plan within P %: the ones after could not exist either
    out = Alternatives(optimum, plans, within, floor)
    out.comparison = comparison(out)
    out.seconds = time.perf_counter() - started
    return out


def _add_difference_model(model, index, floor: float, max_objective: float) -> None:
    """b[k,s] (item k stands at site s), the near-optimality row, the max–min objective."""
    model.alt_b = pyo.Var(model.KS, domain=pyo.Binary, doc="item k stands at site s (alternatives)")

    def most(k, s):
        return sum(model.y[t].ub for t in index.by_item_site[(k, s)])

    model.alt_units_need_b = pyo.Constraint(model.KS, rule=lambda m, k, s: m.u[k, s] <= most(k, s) * m.alt_b[k, s])
    model.alt_b_needs_units = pyo.Constraint(model.KS, rule=lambda m, k, s: m.alt_b[k, s] <= m.u[k, s])
    model.alt_near = pyo.Constraint(expr=model.coverage_score - model.rule_penalty >= floor - 1e-6,
                                    doc="within P % of the optimum")
    model.alt_distance = pyo.Var(domain=pyo.NonNegativeReals, doc="least Hamming distance to the earlier plans")
    model.alt_far = pyo.ConstraintList(doc="the distance to each earlier plan")
    model.obj.deactivate()
    # the coverage term is worth < 0.5 of one choice: it only decides between equally different plans
    eps = 0.5 / max(max_objective, 1.0)
    model.alt_obj = pyo.Objective(expr=model.alt_distance + eps * (model.coverage_score - model.rule_penalty),
                                  sense=pyo.maximize)


def _forbid_closeness(model, chosen: frozenset) -> None:
    """distance ≤ Σ_{not chosen} b + Σ_{chosen} (1 − b): the Hamming distance to that plan."""
    off = [model.alt_b[ks] for ks in model.KS if ks not in chosen]
    on = [model.alt_b[ks] for ks in model.KS if ks in chosen]
    model.alt_far.add(model.alt_distance <= linear_sum(off) + len(on) - linear_sum(on))


def _result(data, cands, index, outcome, floor: float) -> api.PlanResult:
    """The alternative scored apart from the model; a plan that misses the floor or breaks a
    hard constraint is reported as an error, never as an alternative."""
    seconds = {"solve": outcome.seconds}
    if not outcome.status.has_plan:
        return api.PlanResult(data, cands, outcome.status, outcome.detail, None, outcome, seconds)
    plan_score = api.rescore_routed(data, cands, index, outcome)  # routed by the scorer, see there
    problems = [str(v) for v in plan_score.violations]
    achieved = plan_score.objective - plan_score.rule_penalty
    if achieved < floor - 1e-4:
        problems.append(f"re-scored at {achieved:,.3f}, below the floor {floor:,.3f}")
    if problems:
        return api.PlanResult(data, cands, Status.ERROR, "the alternative failed the independent check: "
                              + "; ".join(problems), None, outcome, seconds, diagnosis=problems)
    return api.PlanResult(data, cands, outcome.status, outcome.detail, plan_score, outcome, seconds)


def comparison(alts: Alternatives) -> pd.DataFrame:
    """One row per plan: what it does differently from the optimum, its coverage, cost, states."""
    base = alts.optimum.score
    base_choices = choices(base.deployments)
    best = base.objective - base.rule_penalty
    rows, earlier = [], [base_choices]
    for name, result in [("optimum", alts.optimum)] + [(f"alternative {i}", r) for i, r in enumerate(alts.plans, 1)]:
        s = result.score
        row = {"plan": name, "status": result.status.value}
        if s is None:
            row.update(note=result.detail)
            rows.append(row)
            continue
        mine = choices(s.deployments)
        states = sorted(set(s.deployments["state"]))
        row.update(coverage=round(s.objective, 3), objective=round(s.objective - s.rule_penalty, 3),
                   share_of_optimum=round((s.objective - s.rule_penalty) / best, 6) if best else None,
                   cost_meur=round(s.cost_meur, 3), troops=s.troops, sites_used=len(set(s.deployments["site_id"])),
                   states=len(states), distance_to_optimum=hamming(mine, base_choices),
                   least_distance_to_earlier=min(hamming(mine, e) for e in earlier) if name != "optimum" else None,
                   added=_preview(mine - base_choices), dropped=_preview(base_choices - mine),
                   states_involved=", ".join(states), gap=result.outcome.gap if result.outcome else None, note="")
        if name != "optimum":
            earlier.append(mine)
        rows.append(row)
    return pd.DataFrame(rows)


def _preview(pairs: frozenset, shown: int = 4) -> str:
    """A few item@site choices and how many more (the Differences sheet lists them all)."""
    ordered = [f"{k}@{site}" for k, site in sorted(pairs)]
    more = f" (+{len(ordered) - shown} more)" if len(ordered) > shown else ""
    return ", ".join(ordered[:shown]) + more


def differences(alts: Alternatives) -> pd.DataFrame:
    """One row per site–item choice an alternative adds to or drops from the optimum."""
    base = choices(alts.optimum.score.deployments)
    names = alts.optimum.data.sites["name"].to_dict()
    rows = []
    for i, result in enumerate(alts.plans, 1):
        if result.score is None:
            continue
        mine = choices(result.score.deployments)
        for change, pairs in (("added", mine - base), ("dropped", base - mine)):
            rows.extend((f"alternative {i}", change, k, s, names.get(s) or s) for k, s in sorted(pairs))
    return pd.DataFrame(rows, columns=["plan", "change", "item", "site_id", "site_name"])


def deployments_wide(alts: Alternatives) -> pd.DataFrame:
    """Rows (state, item, site_id); one count column per plan."""
    frames = []
    for name, result in [("optimum", alts.optimum)] + [(f"alternative {i}", r) for i, r in enumerate(alts.plans, 1)]:
        if result.score is not None and len(result.score.deployments):
            frames.append(result.score.deployments.set_index(["state", "item", "site_id"])["count"].rename(name))
    if not frames:
        return pd.DataFrame(columns=["state", "item", "site_id"])
    return pd.concat(frames, axis=1).fillna(0).astype(int).sort_index().reset_index()

