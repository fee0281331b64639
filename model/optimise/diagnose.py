"""Why no plan exists, in planner's terms, with the numbers.

`precheck` is cheap arithmetic run before the solver (a rule asking for more units than the
eligible states hold, a mission minimum above what caps, sites and entry points allow); each
constraint family brings its own. `elastic` runs when the solver proves infeasibility: every
row a family lists in its `slacks` (rules, mission size, budget, caps, throughput, core lead)
gets a penalised slack, and the demands that must give way, and by how much, are reported.
"""

from __future__ import annotations

import pyomo.environ as pyo

from cowopt.optimise.candidates import Candidates
from cowopt.workbook.data import InputData
from cowopt.optimise import families
from cowopt.optimise.formulation import build_model


def precheck(data: InputData, cands: Candidates, fixed: dict | None = None) -> list[str]:
    return [reason for family in families.FAMILIES for reason in family.precheck(data, cands, fixed or {})]


def elastic(data: InputData, cands: Candidates, fixed: dict | None = None, time_limit_s: float = 30.0) -> list[str]:
    """The smallest relaxation (by weighted slack) that makes the hard constraints feasible."""
    from cowopt.optimise.solve import Solver

    model, _ = build_model(data, cands, fixed or {})
    model.obj.deactivate()
    slacks = []  # (planner's name, Slack, slack variable)
    for spec in (spec for family in families.FAMILIES for spec in family.slacks):
        component = getattr(model, spec.component, None)
        if component is None:
            continue
        for key in list(component.keys()):
            name, slack = _relax(model, spec, key, len(slacks))
            slacks.append((name, spec, slack))
    model.obj_elastic = pyo.Objective(expr=sum(spec.weight * slack for _, spec, slack in slacks), sense=pyo.minimize)
    outcome = Solver(model, time_limit_s, 1e-6).solve(into_model=True)  # the slacks are read below
    if outcome.status.value == "error":  # e.g. HiGHS's answer failed its check twice: say so, guess nothing
        return [f"the diagnosis could not be computed: {outcome.detail}"]
    if not outcome.status.has_plan:
        return ["no relaxation of rules, mission size, budget, caps or throughput makes a plan possible "
                "(check inventory, eligibility and the frontline buffer)"]
    reasons = [f"{name} must give way by {slack.value:,.1f} {spec.unit}"
               for name, spec, slack in slacks if (slack.value or 0.0) > 1e-6]
    return reasons or ["the hard constraints conflict, but no single family explains it (numerical trouble?)"]


def _relax(model, spec, key, number: int) -> tuple[str, pyo.Var]:
    """Replace row `key` of spec.component by one whose bound may give way by a slack;
    return the row's name in planner's words (with its bound now) and the slack.

    The side is read from the row as Pyomo stored it, not from how it was written: Pyomo
    keeps `Σy >= o` as `o - Σy <= 0`, so a slack added for "a minimum" would have tightened it."""
    con = getattr(model, spec.component)[key]
    slack = pyo.Var(domain=pyo.NonNegativeReals)
    model.add_component(f"_slack_{spec.component}_{number}", slack)
    lower_bounded = con.lower is not None
    body = con.body + (slack if lower_bounded else -slack)
    model.add_component(f"_elastic_{spec.component}_{number}", pyo.Constraint(expr=pyo.inequality(con.lower, body, con.upper)))
    con.deactivate()
    name = spec.label.format(key if not isinstance(key, tuple) else "/".join(map(str, key)))
    bound = con.lower if lower_bounded else con.upper
    return name + (f" (now {pyo.value(bound):,.0f})" if bound is not None else ""), slack
